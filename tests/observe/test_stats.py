"""Stats on a known dataset: JSON numbers, --since, Prometheus text, the /metrics endpoint, the command."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from coffee_maker.commands.stats_cmd import show_stats, telemetry_path
from coffee_maker.config import LoadedConfig, load_config
from coffee_maker.observe.prometheus import MetricsServer, escape_label, render
from coffee_maker.observe.stats import compute, parse_since
from coffee_maker.observe.telemetry import TelemetryStore
from coffee_maker.sqlite import connect

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC).timestamp()
DAY = 86_400.0


def _interaction(store: TelemetryStore, question: str, kind: str, method: str, channels: list[str], seconds: float,
                 *, timed_out: bool = False) -> None:
    store.record_interaction({
        "timestamp": "2026-11-20T12:00:00+00:00", "priority": "PRIORITY 1", "phase": "implementation",
        "interaction_type": kind, "question": question, "context": {}, "response": "yes", "response_method": method,
        "user_notified": bool(channels), "channels": channels, "response_time_seconds": seconds,
        "timed_out": timed_out})


def populate(path: Path) -> TelemetryStore:
    """Three finished attempts over two days, one running; 11 interactions; 6 notifications; one PR."""
    store = TelemetryStore(path)
    conn = connect(path)
    conn.executemany(
        "INSERT INTO attempts (priority, attempt, started_at, ended_at, outcome, cost_usd, input_tokens,"
        " output_tokens, turns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            ("PRIORITY 1", 1, T0, T0 + 600, "error", 1.0, 100, 10, 5),
            ("PRIORITY 1", 2, T0 + 3600, T0 + 4800, "pr_open", 2.0, 200, 20, 7),
            ("PRIORITY 2", 1, T0 + DAY, T0 + DAY + 300, "blocked", 0.5, 50, 5, 2),
            ("PRIORITY 3", 1, T0 + DAY, None, None, 0.0, 0, 0, 0)])
    conn.close()
    for i in range(4):
        _interaction(store, f"Allow Read: f{i}", "permission", "rule:read", [], 0.01)
    for seconds in (10, 20, 30, 40):
        _interaction(store, "Allow Bash: git push", "permission", "person:slack:U1", ["slack", "terminal"], seconds)
    _interaction(store, "Use SQLite?", "user_response", "person:terminal:me", ["terminal"], 5)
    for _ in range(2):
        _interaction(store, "Which DB?", "timeout_default", "timeout_default", ["slack"], 300, timed_out=True)
    for channel, ok in (("slack", True), ("slack", True), ("slack", True), ("slack", False), ("desktop", True),
                        ("desktop", True)):
        store.record_notification(channel, "question", ok, None)
    store.record_pull_request("PRIORITY 1", 4, "http://forge/pr/4", "pr_open")
    return store


@pytest.fixture
def store(tmp_path: Path) -> TelemetryStore:
    s = populate(tmp_path / "telemetry.db")
    yield s
    s.close()


class TestCompute:
    def test_attempt_numbers(self, store: TelemetryStore) -> None:
        """Cost, time, tokens, success and blocked rates count finished attempts only."""
        a = compute(store)["attempts"]
        assert (a["attempts"], a["succeeded"], a["blocked"]) == (3, 1, 1)
        assert a["cost_usd"] == pytest.approx(3.5) and a["time_s"] == pytest.approx(2100)
        assert (a["input_tokens"], a["output_tokens"], a["turns"]) == (350, 35, 14)
        assert a["success_rate"] == pytest.approx(1 / 3) and a["blocked_rate"] == pytest.approx(1 / 3)
        assert a["by_outcome"] == {"error": 1, "pr_open": 1, "blocked": 1}

    def test_per_priority_and_per_day(self, store: TelemetryStore) -> None:
        """Cost and time are summed per priority and per UTC day."""
        stats = compute(store)
        assert [(r["priority"], r["attempts"], r["cost_usd"], r["time_s"]) for r in stats["per_priority"]] == [
            ("PRIORITY 1", 2, 3.0, 1800.0), ("PRIORITY 2", 1, 0.5, 300.0)]
        assert [(r["day"], r["attempts"], r["cost_usd"], r["time_s"]) for r in stats["per_day"]] == [
            ("2026-11-20", 2, 3.0, 1800.0), ("2026-11-21", 1, 0.5, 300.0)]

    def test_interactions_escalations_and_timeouts(self, store: TelemetryStore) -> None:
        """Auto-answered versus escalated, timeout rates overall and per kind, time waiting on people."""
        i = compute(store)["interactions"]
        assert (i["total"], i["auto_answered"], i["escalated"], i["timed_out"]) == (11, 4, 7, 2)
        assert i["timeout_rate"] == pytest.approx(2 / 11) and i["auto_rate"] == pytest.approx(4 / 11)
        assert i["waiting_on_people_s"] == pytest.approx(705)
        by_kind = {r["kind"]: (r["total"], r["escalated"], r["timed_out"], r["timeout_rate"]) for r in i["by_kind"]}
        assert by_kind == {"permission": (8, 4, 0, 0.0), "user_response": (1, 1, 0, 0.0),
                           "timeout_default": (2, 2, 2, 1.0)}

    def test_response_time_percentiles_per_channel(self, store: TelemetryStore) -> None:
        """p50/p95 per answering channel use nearest rank: slack 10,20,30,40 → 20 and 40."""
        rows = {r["channel"]: (r["answers"], r["p50_s"], r["p95_s"]) for r in compute(store)["response_time_by_channel"]}
        assert rows == {"slack": (4, 20.0, 40.0), "terminal": (1, 5.0, 5.0)}

    def test_top_escalated_and_notifications(self, store: TelemetryStore) -> None:
        """Escalated questions are ranked by count; notifications are counted per channel with failures."""
        stats = compute(store)
        assert [(r["question"], r["times"], r["timed_out"]) for r in stats["top_escalated_questions"]] == [
            ("Allow Bash: git push", 4, 0), ("Which DB?", 2, 2), ("Use SQLite?", 1, 0)]
        assert [(r["channel"], r["sent"], r["ok"], r["failed"]) for r in stats["notifications_by_channel"]] == [
            ("desktop", 2, 2, 0), ("slack", 4, 3, 1)]
        assert stats["pull_requests_by_state"] == {"pr_open": 1}

    def test_since_filters_attempts(self, store: TelemetryStore) -> None:
        """--since with an ISO date keeps only attempts started from then on."""
        stats = compute(store, parse_since("2026-11-21"))
        assert stats["attempts"]["attempts"] == 1 and stats["per_priority"][0]["priority"] == "PRIORITY 2"
        assert stats["interactions"]["total"] == 0

    def test_empty_store_has_no_rates(self, tmp_path: Path) -> None:
        """With no data, rates are null rather than a division by zero."""
        store = TelemetryStore(tmp_path / "empty.db")
        stats = compute(store)
        assert stats["attempts"]["success_rate"] is None and stats["interactions"]["timeout_rate"] is None
        store.close()


class TestParseSince:
    def test_durations_and_dates(self) -> None:
        """7d, 24h and 30m count back from now; an ISO date is read as UTC midnight."""
        now = datetime(2026, 11, 23, tzinfo=UTC)
        assert parse_since("7d", now=now) == datetime(2026, 11, 16, tzinfo=UTC).timestamp()
        assert parse_since("24h", now=now) == datetime(2026, 11, 22, tzinfo=UTC).timestamp()
        assert parse_since("30m", now=now) == now.timestamp() - 1800
        assert parse_since("2026-11-01") == datetime(2026, 11, 1, tzinfo=UTC).timestamp()
        assert parse_since(None) is None

    def test_nonsense_is_a_sentence(self) -> None:
        """Anything else is refused with a message that shows the accepted forms."""
        with pytest.raises(ValueError, match="7d"):
            parse_since("last tuesday")


LINE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? '
                  r'(NaN|[+-]Inf|-?[0-9.eE+-]+)$')


class TestPrometheus:
    def test_every_line_is_valid_exposition(self, store: TelemetryStore) -> None:
        """Each metric has HELP and TYPE before its samples, and every sample line parses."""
        text = render(compute(store))
        assert text.endswith("\n")
        declared: dict[str, str] = {}
        for line in text.splitlines():
            if line.startswith("# HELP "):
                continue
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(" ")
                assert kind in {"counter", "gauge", "summary"}
                declared[name] = kind
                continue
            assert LINE.match(line), line
            base = re.sub(r"(_sum|_count)$", "", line.split("{")[0].split(" ")[0])
            assert base in declared or line.split("{")[0].split(" ")[0] in declared, line

    def test_known_values(self, store: TelemetryStore) -> None:
        """The dataset's numbers appear with their labels."""
        text = render(compute(store))
        assert 'coffee_maker_attempts_total{outcome="blocked"} 1' in text
        assert 'coffee_maker_cost_usd_total{priority="PRIORITY 1"} 3' in text
        assert 'coffee_maker_response_time_seconds{channel="slack",quantile="0.95"} 40' in text
        assert 'coffee_maker_response_time_seconds_count{channel="slack"} 4' in text
        assert 'coffee_maker_notifications_total{channel="slack",result="failed"} 1' in text
        assert 'coffee_maker_interaction_timeouts_total{kind="timeout_default"} 2' in text

    def test_label_escaping(self) -> None:
        """Backslashes, double quotes and newlines in label values are escaped."""
        assert escape_label('a\\b"c\nd') == 'a\\\\b\\"c\\nd'


def _loaded(tmp_path: Path) -> LoadedConfig:
    loaded = load_config(str(tmp_path))
    populate(telemetry_path(loaded)).close()
    return loaded


class TestMetricsEndpoint:
    def test_serves_metrics_on_loopback(self, store: TelemetryStore) -> None:
        """GET /metrics on 127.0.0.1 returns the exposition with the Prometheus content type; other paths 404."""
        server = MetricsServer(lambda: render(compute(store))).start()
        try:
            assert server.httpd.server_address[0] == "127.0.0.1"
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=10) as response:
                body = response.read().decode()
                assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            assert "# TYPE coffee_maker_attempts_total counter" in body
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(f"http://127.0.0.1:{server.port}/", timeout=10)
            assert err.value.code == 404
        finally:
            server.stop()


class TestServeCommand:
    def test_stats_serve_answers_scrapes(self, tmp_path: Path) -> None:
        """`coffee-maker stats serve` serves the repository's telemetry on 127.0.0.1 until stopped."""
        import threading

        from coffee_maker.commands.stats_cmd import serve_metrics

        loaded = _loaded(tmp_path)
        ready: list[MetricsServer] = []
        got = threading.Event()

        def on_ready(server: MetricsServer) -> None:
            ready.append(server)
            got.set()

        thread = threading.Thread(target=serve_metrics, args=(loaded,), kwargs={"port": 0, "on_ready": on_ready})
        thread.start()
        assert got.wait(10)
        server = ready[0]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=10) as response:
                assert 'coffee_maker_attempts_total{outcome="pr_open"} 1' in response.read().decode()
        finally:
            server.httpd.shutdown()
            thread.join(10)
        assert not thread.is_alive()


class TestStatsCommand:
    def test_json_output(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """`coffee-maker stats --json` prints the computed numbers as one JSON document."""
        assert show_stats(_loaded(tmp_path), as_json=True) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["attempts"]["attempts"] == 3 and data["interactions"]["escalated"] == 7

    def test_tables_and_prometheus(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The default output shows the tables; --prometheus prints the exposition text."""
        loaded = _loaded(tmp_path)
        assert show_stats(loaded) == 0
        out = capsys.readouterr().out
        assert "Per priority" in out and "PRIORITY 1" in out and "Allow Bash: git push" in out
        assert show_stats(loaded, prometheus=True) == 0
        assert "# TYPE coffee_maker_success_ratio gauge" in capsys.readouterr().out

    def test_cli_parses_since_and_serve(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The parser wires --json/--since, and a bad --since is a usage error (exit 2)."""
        from coffee_maker.cli import main

        _loaded(tmp_path)
        assert main(["stats", "--repo", str(tmp_path), "--json", "--since", "2026-11-21"]) == 0
        assert json.loads(capsys.readouterr().out)["attempts"]["attempts"] == 1
        assert main(["stats", "--repo", str(tmp_path), "--since", "whenever"]) == 2

    def test_no_telemetry_yet_shows_zeros_without_creating_files(self, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
        """Before the daemon ever ran, stats prints zeros and leaves the repository untouched."""
        loaded = load_config(str(tmp_path))
        assert show_stats(loaded, as_json=True) == 0
        assert json.loads(capsys.readouterr().out)["attempts"]["attempts"] == 0
        assert not telemetry_path(loaded).exists() and not (tmp_path / ":memory:").exists()
