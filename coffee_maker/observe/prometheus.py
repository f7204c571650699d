"""The stats as Prometheus text exposition (format 0.0.4), and a tiny ``/metrics`` server.

Hand-written rather than prometheus_client: the numbers are computed on each scrape
from SQLite, so there is no in-process registry to keep, and the format is small.
The server binds 127.0.0.1 only: the numbers include questions' text counts and
costs, which are nobody else's business; put a proxy in front to expose them.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
Sample = tuple[dict[str, str], float]


def escape_label(value: str) -> str:
    """Backslash, double quote and newline escaped, as the exposition format requires."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


def metric(name: str, kind: str, help_text: str, samples: Iterable[Sample], *, suffix: str = "") -> list[str]:
    """``# HELP``, ``# TYPE`` and one line per sample (labels escaped)."""
    lines = [f"# HELP {name} {help_text.replace(chr(92), chr(92) * 2).replace(chr(10), ' ')}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        rendered = ",".join(f'{key}="{escape_label(str(val))}"' for key, val in labels.items())
        lines.append(f"{name}{suffix}{{{rendered}}} {_number(value)}" if rendered else f"{name}{suffix} {_number(value)}")
    return lines


def render(stats: dict[str, Any]) -> str:
    """The ``compute()`` result as exposition text (counters over the stats window)."""
    a, i = stats["attempts"], stats["interactions"]
    out: list[str] = []
    out += metric("coffee_maker_attempts_total", "counter", "Finished priority attempts by outcome.",
                  [({"outcome": str(k)}, v) for k, v in a["by_outcome"].items()])
    out += metric("coffee_maker_success_ratio", "gauge", "Share of finished attempts that opened or merged a PR.",
                  [({}, a["success_rate"] if a["success_rate"] is not None else math.nan)])
    out += metric("coffee_maker_blocked_ratio", "gauge", "Share of finished attempts that ended blocked.",
                  [({}, a["blocked_rate"] if a["blocked_rate"] is not None else math.nan)])
    out += metric("coffee_maker_cost_usd_total", "counter", "Agent cost in US dollars by priority.",
                  [({"priority": r["priority"]}, r["cost_usd"] or 0.0) for r in stats["per_priority"]])
    out += metric("coffee_maker_attempt_seconds_total", "counter", "Wall-clock time spent on attempts by priority.",
                  [({"priority": r["priority"]}, r["time_s"] or 0.0) for r in stats["per_priority"]])
    out += metric("coffee_maker_tokens_total", "counter", "Agent tokens by direction.",
                  [({"direction": "input"}, a["input_tokens"]), ({"direction": "output"}, a["output_tokens"])])
    out += metric("coffee_maker_interactions_total", "counter", "Questions and permission requests by kind.",
                  [({"kind": str(r["kind"])}, r["total"]) for r in i["by_kind"]])
    out += metric("coffee_maker_escalations_total", "counter", "Requests a person was asked about, by kind.",
                  [({"kind": str(r["kind"])}, r["escalated"] or 0) for r in i["by_kind"]])
    out += metric("coffee_maker_interaction_timeouts_total", "counter", "Requests that fell back to the safe default.",
                  [({"kind": str(r["kind"])}, r["timed_out"] or 0) for r in i["by_kind"]])
    out += metric("coffee_maker_waiting_on_people_seconds_total", "counter",
                  "Time the agent waited for a person's answer.", [({}, i["waiting_on_people_s"] or 0.0)])
    rts = stats["response_time_by_channel"]
    out += metric("coffee_maker_response_time_seconds", "summary", "How fast people answer, by channel.",
                  [({"channel": r["channel"], "quantile": q}, r[key])
                   for r in rts for q, key in (("0.5", "p50_s"), ("0.95", "p95_s"))])
    out += [f'coffee_maker_response_time_seconds_sum{{channel="{escape_label(r["channel"])}"}} {_number(r["sum_s"])}'
            for r in rts]
    out += [f'coffee_maker_response_time_seconds_count{{channel="{escape_label(r["channel"])}"}} '
            f'{_number(r["answers"])}' for r in rts]
    out += metric("coffee_maker_notifications_total", "counter", "Notifications sent, by channel and result.",
                  [({"channel": r["channel"], "result": res}, r[res] or 0)
                   for r in stats["notifications_by_channel"] for res in ("ok", "failed")])
    out += metric("coffee_maker_pull_requests", "gauge", "Pull requests by last known state.",
                  [({"state": str(k)}, v) for k, v in stats["pull_requests_by_state"].items()])
    return "\n".join(out) + "\n"


class MetricsServer:
    """``GET /metrics`` on 127.0.0.1, rendering ``produce()`` on each scrape."""

    def __init__(self, produce: Callable[[], str], port: int = 0) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 — stdlib signature
                return None

            def do_GET(self) -> None:  # noqa: N802 — stdlib name
                if self.path.split("?")[0] != "/metrics":
                    self._send(404, b"only /metrics here\n", "text/plain")
                    return
                try:
                    body = outer.produce().encode()
                except Exception as exc:  # noqa: BLE001 — a scrape error is an HTTP 500, not a dead server
                    self._send(500, f"stats failed: {exc}\n".encode(), "text/plain")
                    return
                self._send(200, body, CONTENT_TYPE)

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.produce = produce
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def start(self) -> MetricsServer:
        """Serve in a background thread (tests, or a daemon that exposes its own metrics)."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="metrics", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
