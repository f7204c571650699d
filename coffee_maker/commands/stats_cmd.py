"""`coffee-maker stats [--json|--prometheus] [--since 7d]` and `coffee-maker stats serve --port N`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from coffee_maker.commands import _common
from coffee_maker.config import LoadedConfig
from coffee_maker.errors import UsageError

if TYPE_CHECKING:
    from coffee_maker.observe.prometheus import MetricsServer


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("stats", help="cost, time, success and escalation numbers from the telemetry",
                            parents=[common])
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--prometheus", action="store_true", help="print Prometheus text exposition")
    parser.add_argument("--since", metavar="WHEN", help="only since then: 7d, 24h, 30m or an ISO date")
    actions = parser.add_subparsers(dest="stats_command", metavar="ACTION")
    serve = actions.add_parser("serve", help="serve /metrics on 127.0.0.1 for Prometheus", parents=[common])
    serve.add_argument("--port", "--metrics-port", dest="port", type=int, default=None,
                       help="port (default from [observe] metrics_port)")
    serve.set_defaults(func=lambda a: serve_metrics(_common.load(a), port=a.port))
    parser.set_defaults(func=lambda a: show_stats(_common.load(a), as_json=a.json, prometheus=a.prometheus,
                                                  since=a.since))


def telemetry_path(loaded: LoadedConfig) -> Path:
    return loaded.layout.telemetry_db


def _compute(loaded: LoadedConfig, since: str | None) -> dict[str, Any]:
    from coffee_maker.observe.stats import compute, parse_since
    from coffee_maker.observe.telemetry import TelemetryStore

    try:
        start = parse_since(since)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    path = telemetry_path(loaded)
    # Before the daemon's first run there is nothing to read: show zeros, create no files.
    store = TelemetryStore(path if path.exists() else ":memory:")
    try:
        return compute(store, start)
    finally:
        store.close()


def show_stats(loaded: LoadedConfig, *, as_json: bool = False, prometheus: bool = False,
               since: str | None = None) -> int:
    stats = _compute(loaded, since)
    if as_json:
        _common.print_json(stats)
        return 0
    if prometheus:
        import sys

        from coffee_maker.observe.prometheus import render

        sys.stdout.write(render(stats))
        return 0
    _print_tables(stats)
    return 0


def serve_metrics(loaded: LoadedConfig, *, port: int | None = None,
                  on_ready: Callable[[MetricsServer], None] | None = None) -> int:
    """Serve until Ctrl-C (or ``server.stop()`` from ``on_ready``); every scrape reads the telemetry afresh."""
    from coffee_maker.observe.prometheus import MetricsServer, render

    server = MetricsServer(lambda: render(_compute(loaded, None)),
                           port=loaded.config.observe.metrics_port if port is None else port)
    if on_ready is not None:
        on_ready(server)
    _common.console().print(f"Serving metrics on http://127.0.0.1:{server.port}/metrics (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
    return 0


def _fmt(value: Any, kind: str = "") -> str:
    if value is None:
        return "—"
    if kind == "usd":
        return f"${value:,.2f}"
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if kind == "s":
        return f"{value / 3600:.1f} h" if value >= 3600 else f"{value / 60:.1f} min" if value >= 60 else f"{value:.1f} s"
    return escape(str(value))


def _table(title: str, columns: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title, title_justify="left")
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    return table


def _print_tables(stats: dict[str, Any]) -> None:
    console = _common.console()
    a, i = stats["attempts"], stats["interactions"]
    window = f"since {stats['since']}" if stats["since"] else "all time"
    console.print(f"[bold]coffee-maker stats[/bold] ({window}): {a['attempts']} attempts, "
                  f"success {_fmt(a['success_rate'], 'pct')}, blocked {_fmt(a['blocked_rate'], 'pct')}, "
                  f"cost {_fmt(a['cost_usd'], 'usd')}, time {_fmt(a['time_s'], 's')}")
    console.print(_table("Per priority", ["priority", "attempts", "cost", "time", "succeeded", "blocked"], [
        [_fmt(r["priority"]), str(r["attempts"]), _fmt(r["cost_usd"], "usd"), _fmt(r["time_s"], "s"),
         str(r["succeeded"]), str(r["blocked"])] for r in stats["per_priority"]]))
    console.print(_table("Per day", ["day", "attempts", "cost", "time"], [
        [r["day"], str(r["attempts"]), _fmt(r["cost_usd"], "usd"), _fmt(r["time_s"], "s")] for r in stats["per_day"]]))
    console.print(f"Interactions: {i['total']} — auto-answered {i['auto_answered']} ({_fmt(i['auto_rate'], 'pct')}), "
                  f"escalated {i['escalated']}, timed out {i['timed_out']} ({_fmt(i['timeout_rate'], 'pct')}), "
                  f"waiting on people {_fmt(i['waiting_on_people_s'], 's')}")
    console.print(_table("By kind", ["kind", "total", "escalated", "timed out", "timeout rate"], [
        [_fmt(r["kind"]), str(r["total"]), str(r["escalated"]), str(r["timed_out"]), _fmt(r["timeout_rate"], "pct")]
        for r in i["by_kind"]]))
    console.print(_table("Response time per channel", ["channel", "answers", "p50", "p95"], [
        [_fmt(r["channel"]), str(r["answers"]), _fmt(r["p50_s"], "s"), _fmt(r["p95_s"], "s")]
        for r in stats["response_time_by_channel"]]))
    console.print(_table("Top escalated questions", ["question", "times", "timed out", "mean response"], [
        [_fmt(r["question"]), str(r["times"]), str(r["timed_out"]), _fmt(r["mean_response_s"], "s")]
        for r in stats["top_escalated_questions"]]))
    console.print(_table("Notifications", ["channel", "sent", "ok", "failed"], [
        [_fmt(r["channel"]), str(r["sent"]), str(r["ok"]), str(r["failed"])]
        for r in stats["notifications_by_channel"]]))
