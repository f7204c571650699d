"""TelemetryStore: writes, WAL, concurrent writers (threads and another process), migrations."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from coffee_maker.observe import telemetry
from coffee_maker.observe.telemetry import MIGRATIONS, SCHEMA_VERSION, TelemetryStore
from coffee_maker.sqlite import connect


def _record(**overrides: object) -> dict[str, object]:
    record: dict[str, object] = {
        "timestamp": "2026-11-20T10:00:00.000+00:00", "priority": "PRIORITY 1", "phase": "implementation",
        "interaction_type": "permission", "question": "Allow Bash: rm -rf build", "context": {"tool": "Bash"},
        "response": "allow", "response_method": "person:slack:U123", "user_notified": True,
        "channels": ["slack", "terminal"], "response_time_seconds": 12.5, "timed_out": False,
    }
    record.update(overrides)
    return record


class TestTelemetryStore:
    def test_attempt_round_trip(self, tmp_path: Path) -> None:
        """start_attempt returns an id that finish_attempt completes with outcome, cost, tokens, turns, retries."""
        store = TelemetryStore(tmp_path / "telemetry.db")
        attempt_id = store.start_attempt("PRIORITY 1", 2, "roadmap/p1")
        store.finish_attempt(attempt_id, outcome="pr_open", cost_usd=1.5, input_tokens=10, output_tokens=5, turns=3,
                             retries=1)
        row = store.query("SELECT priority, attempt, branch, outcome, cost_usd, input_tokens, output_tokens, turns, "
                          "retries, ended_at >= started_at AS ordered FROM attempts")[0]
        assert row == {"priority": "PRIORITY 1", "attempt": 2, "branch": "roadmap/p1", "outcome": "pr_open",
                       "cost_usd": 1.5, "input_tokens": 10, "output_tokens": 5, "turns": 3, "retries": 1, "ordered": 1}
        store.close()

    def test_interaction_record_is_mapped(self, tmp_path: Path) -> None:
        """An interaction-log record keeps its time, kind, method, answering channel, channels and timing."""
        store = TelemetryStore(tmp_path / "telemetry.db")
        store.record_interaction(_record())
        store.record_interaction(_record(response_method="rule:allow-tests", user_notified=False, channels=[],
                                         interaction_type="auto_response", response_time_seconds=0.01))
        rows = store.query("SELECT interaction_type, method, channel, channels, response_time_s, timed_out, escalated,"
                           " datetime(ts, 'unixepoch') AS ts FROM interactions ORDER BY id")
        assert rows[0] == {"interaction_type": "permission", "method": "person:slack:U123", "channel": "slack",
                           "channels": '["slack", "terminal"]', "response_time_s": 12.5, "timed_out": 0,
                           "escalated": 1, "ts": "2026-11-20 10:00:00"}
        assert (rows[1]["channel"], rows[1]["escalated"]) == (None, 0)
        store.close()

    def test_notifications_and_pull_requests(self, tmp_path: Path) -> None:
        """Notifications are appended; a pull request keeps one row with its latest state."""
        store = TelemetryStore(tmp_path / "telemetry.db")
        store.record_notification("slack", "question", True, "q1")
        store.record_notification("desktop", "pr_ready", False, None)
        store.record_pull_request("PRIORITY 1", 7, "http://x/7", "pr_open")
        store.record_pull_request("PRIORITY 1", 7, "http://x/7", "merged")
        assert store.query("SELECT channel, kind, ok, question_id FROM notifications ORDER BY id") == [
            {"channel": "slack", "kind": "question", "ok": 1, "question_id": "q1"},
            {"channel": "desktop", "kind": "pr_ready", "ok": 0, "question_id": None}]
        assert store.query("SELECT number, state FROM pull_requests") == [{"number": 7, "state": "merged"}]
        store.close()

    def test_wal_mode_and_busy_timeout(self, tmp_path: Path) -> None:
        """The file is in WAL mode and connections wait for locks instead of failing."""
        store = TelemetryStore(tmp_path / "telemetry.db")
        assert store.query("PRAGMA journal_mode") == [{"journal_mode": "wal"}]
        assert store.query("PRAGMA busy_timeout")[0]["timeout"] >= 5000
        store.close()

    def test_concurrent_writers_threads_and_process(self, tmp_path: Path) -> None:
        """Eight threads and a second process write at once; every row arrives and nothing raises."""
        path = tmp_path / "telemetry.db"
        store = TelemetryStore(path)
        script = (
            "import sys; from coffee_maker.observe.telemetry import TelemetryStore\n"
            "s = TelemetryStore(sys.argv[1])\n"
            "for i in range(200): s.record_notification('proc', 'info', True, str(i))\n"
            "s.close()\n")
        other = subprocess.Popen([sys.executable, "-c", script, str(path)])
        errors: list[BaseException] = []

        def write(n: int) -> None:
            try:
                for i in range(50):
                    store.record_interaction(_record(question=f"q{n}-{i}"))
                    attempt = store.start_attempt(f"P{n}", i, None)
                    store.finish_attempt(attempt, outcome="pr_open", cost_usd=0.1, input_tokens=1, output_tokens=1,
                                         turns=1)
            except BaseException as exc:  # noqa: BLE001 — collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert other.wait(60) == 0
        assert errors == []
        assert store.query("SELECT COUNT(*) AS n FROM interactions") == [{"n": 400}]
        assert store.query("SELECT COUNT(*) AS n FROM attempts WHERE outcome = 'pr_open'") == [{"n": 400}]
        assert store.query("SELECT COUNT(*) AS n FROM notifications") == [{"n": 200}]
        store.close()


class TestMigrations:
    def test_upgrades_an_older_schema_keeping_rows(self, tmp_path: Path) -> None:
        """A version-1 file gains the retries column and indexes, and its rows stay."""
        path = tmp_path / "telemetry.db"
        conn = connect(path)
        conn.executescript(MIGRATIONS[0] + "; PRAGMA user_version=1;")
        conn.execute("INSERT INTO attempts (priority, attempt, started_at) VALUES ('PRIORITY 1', 1, 0)")
        conn.close()
        store = TelemetryStore(path)
        assert store.query("PRAGMA user_version") == [{"user_version": SCHEMA_VERSION}]
        assert store.query("SELECT priority, retries FROM attempts") == [{"priority": "PRIORITY 1", "retries": 0}]
        names = {r["name"] for r in store.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"attempts_started", "interactions_ts", "pull_requests_number"} <= names
        store.close()

    def test_reopening_is_idempotent(self, tmp_path: Path) -> None:
        """Opening an up-to-date file twice changes nothing."""
        TelemetryStore(tmp_path / "t.db").close()
        store = TelemetryStore(tmp_path / "t.db")
        assert store.query("PRAGMA user_version") == [{"user_version": SCHEMA_VERSION}]
        store.close()

    def test_a_failed_migration_rolls_back(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A migration that fails leaves the file at its old version, not half-migrated: the missing
        steps are one transaction (sqlite.migrate), so the step before the failing one is undone too."""
        monkeypatch.setattr(telemetry, "MIGRATIONS", (MIGRATIONS[0], "CREATE TABLE x (a); SELECT broken FROM nowhere"))
        monkeypatch.setattr(telemetry, "SCHEMA_VERSION", 2)
        with pytest.raises(sqlite3.OperationalError):
            TelemetryStore(tmp_path / "t.db")
        conn = sqlite3.connect(tmp_path / "t.db")
        assert conn.execute("PRAGMA user_version").fetchone() == (0,)
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'x'").fetchall() == []
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'attempts'").fetchall() == []
        conn.close()


class TestConnections:
    def test_from_config_uses_the_state_dir(self, tmp_path: Path) -> None:
        """The database lives at <state_dir>/telemetry.db unless [observe] telemetry_db says otherwise."""
        from coffee_maker.config import load_config

        (tmp_path / "coffee_maker.toml").write_text('[observe]\nstate_dir = "state"\ntelemetry_db = "t.db"\n')
        store = TelemetryStore.from_config(load_config(str(tmp_path)))
        assert store.path == tmp_path / "state" / "t.db" and store.path.exists()
        store.close()
