"""A fake Anthropic Messages API on 127.0.0.1 that plays scripted turns over SSE.

Why: the agent tests, benchmarks and the daemon's end-to-end test run the *real*
Claude Code CLI, pointed at this server with ``ANTHROPIC_BASE_URL``, so nothing
leaves loopback and every model turn is deterministic.

The CLI calls ``POST /v1/messages?beta=true`` with ``stream: true`` once per model
turn. Each call pops the next :class:`Turn` from the script (when the script is
exhausted, a plain ``"Done."`` text turn is played) and answers with the SSE event
sequence the real API sends. Every request body is recorded in ``requests``.

Usage::

    with FakeAnthropic([Turn.tool("Bash", {"command": "echo hi"}), Turn.say("All done.")]) as api:
        env = api.cli_env()          # ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY=test, …
        ...                          # run the CLI with env
        api.requests[-1]             # the last request the CLI sent (parsed JSON)

A turn can also be an API error (``Turn.error(529, "overloaded_error", "Overloaded")``),
a rate limit (``Turn.rate_limited()``: 429 ``rate_limit_error``, ``retry-after`` only if given),
or stall (``Turn.stall()``: headers sent, then nothing until the server stops).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ids = itertools.count(1)


@dataclass(frozen=True)
class ToolUse:
    """A tool_use block the fake model emits."""

    name: str
    input: Mapping[str, Any]
    id: str = ""


@dataclass(frozen=True)
class Turn:
    """One scripted model turn: text and/or tool_use blocks, or an HTTP error, or a hang."""

    text: str | None = None
    tools: tuple[ToolUse, ...] = ()
    status: int = 200
    error_type: str = ""
    error_message: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    hang: bool = False
    input_tokens: int = 100
    output_tokens: int = 20

    @classmethod
    def say(cls, text: str) -> Turn:
        return cls(text=text)

    @classmethod
    def tool(cls, name: str, input: Mapping[str, Any], *, text: str | None = None) -> Turn:
        return cls(text=text, tools=(ToolUse(name, dict(input)),))

    @classmethod
    def multi(cls, *uses: ToolUse, text: str | None = None) -> Turn:
        return cls(text=text, tools=tuple(uses))

    @classmethod
    def error(cls, status: int, error_type: str, message: str,
              headers: Mapping[str, str] | None = None) -> Turn:
        return cls(status=status, error_type=error_type, error_message=message, headers=dict(headers or {}))

    @classmethod
    def rate_limited(cls, retry_after_s: int | None = None, *, limit: str = "requests") -> Turn:
        """HTTP 429 as the Messages API sends it: a ``rate_limit_error`` body and the
        ``anthropic-ratelimit-<limit>-*`` headers; ``retry-after`` only when given (the API
        omits it at times, and then nobody knows when the limit lifts)."""
        headers = {f"anthropic-ratelimit-{limit}-limit": "50", f"anthropic-ratelimit-{limit}-remaining": "0",
                   f"anthropic-ratelimit-{limit}-reset": _rfc3339_in(retry_after_s or 60)}
        if retry_after_s is not None:
            headers["retry-after"] = str(retry_after_s)
        what = "request tokens" if limit.endswith("tokens") else "requests"
        message = (f"Number of {what} has exceeded your per-minute rate limit "
                   "(https://docs.claude.com/en/api/rate-limits); see the response headers for current usage. "
                   "Please reduce the prompt length or the maximum tokens requested, or try again later.")
        return cls.error(429, "rate_limit_error", message, headers)

    @classmethod
    def stall(cls) -> Turn:
        return cls(hang=True)


Responder = Callable[[dict[str, Any]], Turn | None]


def _rfc3339_in(seconds: int) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeAnthropic:
    """A threaded HTTP server speaking enough of the Messages API for Claude Code."""

    def __init__(self, turns: Iterable[Turn] = (), *, responder: Responder | None = None,
                 default: Turn | None = None) -> None:
        self._turns = list(turns)
        self._responder = responder
        self._default = default or Turn.say("Done.")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeAnthropic:
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-anthropic", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def cli_env(self, **extra: str) -> dict[str, str]:
        """The environment that keeps Claude Code offline and pointed at this fake."""
        env = {
            "ANTHROPIC_BASE_URL": self.url,
            "ANTHROPIC_API_KEY": "test",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "CLAUDE_CODE_MAX_RETRIES": "0",
        }
        env.update(extra)
        return env

    # ------------------------------------------------------------------ script
    def add(self, *turns: Turn) -> None:
        with self._lock:
            self._turns.extend(turns)

    @property
    def model_requests(self) -> list[dict[str, Any]]:
        """Requests of main model turns (those that offer tools), in order."""
        return [r for r in self.requests if r.get("tools")]

    def next_turn(self, body: dict[str, Any]) -> Turn:
        with self._lock:
            self.requests.append(body)
            if self._responder is not None:
                chosen = self._responder(body)
                if chosen is not None:
                    return chosen
            return self._turns.pop(0) if self._turns else self._default

    # ------------------------------------------------------------------ SSE
    @staticmethod
    def sse_events(turn: Turn, model: str) -> list[tuple[str, dict[str, Any]]]:
        """The SSE (event, data) pairs of one successful turn."""
        msg_id = f"msg_fake_{next(_ids)}"
        events: list[tuple[str, dict[str, Any]]] = [("message_start", {
            "type": "message_start",
            "message": {"id": msg_id, "type": "message", "role": "assistant", "model": model,
                        "content": [], "stop_reason": None, "stop_sequence": None,
                        "usage": {"input_tokens": turn.input_tokens, "output_tokens": 1,
                                  "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}},
        })]
        index = 0
        if turn.text is not None:
            events += [
                ("content_block_start", {"type": "content_block_start", "index": index,
                                         "content_block": {"type": "text", "text": ""}}),
                ("content_block_delta", {"type": "content_block_delta", "index": index,
                                         "delta": {"type": "text_delta", "text": turn.text}}),
                ("content_block_stop", {"type": "content_block_stop", "index": index}),
            ]
            index += 1
        for use in turn.tools:
            use_id = use.id or f"toolu_fake_{next(_ids)}"
            events += [
                ("content_block_start", {"type": "content_block_start", "index": index,
                                         "content_block": {"type": "tool_use", "id": use_id,
                                                           "name": use.name, "input": {}}}),
                ("content_block_delta", {"type": "content_block_delta", "index": index,
                                         "delta": {"type": "input_json_delta",
                                                   "partial_json": json.dumps(dict(use.input))}}),
                ("content_block_stop", {"type": "content_block_stop", "index": index}),
            ]
            index += 1
        events += [
            ("message_delta", {"type": "message_delta",
                               "delta": {"stop_reason": "tool_use" if turn.tools else "end_turn",
                                         "stop_sequence": None},
                               "usage": {"output_tokens": turn.output_tokens}}),
            ("message_stop", {"type": "message_stop"}),
        ]
        return events


def _make_handler(fake: FakeAnthropic) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 — silence stderr
            return

        def do_HEAD(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            self._json(404, {"type": "error", "error": {"type": "not_found_error", "message": "not here"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            fake.paths.append(self.path)
            if not self.path.startswith("/v1/messages") or "count_tokens" in self.path:
                self._json(404, {"type": "error", "error": {"type": "not_found_error", "message": "not here"}})
                return
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {}
            turn = fake.next_turn(body)
            if turn.status != 200:
                request_id = f"req_fake_{next(_ids)}"
                self._json(turn.status, {"type": "error", "error": {"type": turn.error_type,
                                                                    "message": turn.error_message},
                                         "request_id": request_id},
                           {"request-id": request_id, **turn.headers})
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.send_header("request-id", f"req_fake_{next(_ids)}")
            for key, value in turn.headers.items():
                self.send_header(key, value)
            self.end_headers()
            if turn.hang:
                fake._stop.wait()
                return
            model = str(body.get("model") or "claude-fake")
            for event, data in fake.sse_events(turn, model):
                self.wfile.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()
            self.close_connection = True

        def _json(self, status: int, payload: dict[str, Any], headers: Mapping[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler
