"""A local Slack: the Web API over HTTP and Socket Mode over a websocket, both on loopback.

Why shipped in the package: the Slack channel's tests, the escalation benchmark
and anyone wiring a new Slack feature need the same stand-in, and it speaks the
real protocol edge — `WebClient(base_url=fake.base_url)` and the builtin
`SocketModeClient` connect to it unchanged. It records every Web API call and
every envelope ack so a test can assert what Slack would have seen.

Usage::

    with FakeSlack() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.base_url)
        ...
        envelope = slack.click(user="U1", value="abcd|yes")
        slack.wait_for_ack(envelope)

Rate limits as Slack documents them (https://api.slack.com/docs/rate-limits):
``slack.rate_limit("chat.postMessage", times=1, retry_after=1)`` makes the next
call answer HTTP 429 with a ``Retry-After`` header (seconds) and
``{"ok": false, "error": "ratelimited"}``; ``slack.fail("chat.update", status=503)``
answers a server error. Refused calls are recorded in ``refused``, not ``calls``.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse

from websockets.sync.server import Server, ServerConnection, serve


@dataclass
class ApiCall:
    """One Web API call: the method (``chat.postMessage``), its arguments, and the token used."""

    method: str
    args: dict[str, Any]
    token: str = ""
    at: float = field(default_factory=time.monotonic)


class FakeSlack:
    """The fake; start it with ``with FakeSlack() as slack`` (or ``start()`` / ``stop()``)."""

    def __init__(self) -> None:
        self.calls: list[ApiCall] = []
        self.acks: dict[str, float] = {}  # envelope id → monotonic time the ack arrived
        self.replies: dict[str, list[dict[str, Any]]] = {}  # thread ts → replies
        self._ts = itertools.count(1)
        self._cond = threading.Condition()
        self._sockets: list[ServerConnection] = []
        self._http: ThreadingHTTPServer | None = None
        self._ws: Server | None = None
        self._threads: list[threading.Thread] = []
        #: method → (status, Retry-After or None) for each of its next calls to refuse, in order.
        self._refusals: dict[str, list[tuple[int, int | None]]] = {}
        self.refused: list[ApiCall] = []

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> FakeSlack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._ws = serve(self._on_socket, "127.0.0.1", 0, compression=None)
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._http.daemon_threads = True
        for target in (self._ws.serve_forever, self._http.serve_forever):
            thread = threading.Thread(target=target, name="fake-slack", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._ws is not None:
            self._ws.shutdown()

    @property
    def base_url(self) -> str:
        assert self._http is not None, "start the fake first"
        return f"http://127.0.0.1:{self._http.server_address[1]}/api/"

    @property
    def ws_url(self) -> str:
        assert self._ws is not None, "start the fake first"
        return f"ws://127.0.0.1:{self._ws.socket.getsockname()[1]}/link/"

    # ------------------------------------------------------------------ web API

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """The next ``times`` calls to ``method`` answer 429 with ``Retry-After: retry_after``."""
        with self._cond:
            self._refusals.setdefault(method, []).extend([(429, retry_after)] * times)

    def fail(self, method: str, *, status: int = 503, times: int = 1) -> None:
        """The next ``times`` calls to ``method`` answer a server error (500, 503…)."""
        with self._cond:
            self._refusals.setdefault(method, []).extend([(status, None)] * times)

    def refusal(self, method: str, args: dict[str, Any], token: str) -> tuple[int, int | None] | None:
        """The HTTP status (and Retry-After) this call gets instead of an answer, if one is queued."""
        with self._cond:
            queued = self._refusals.get(method)
            if not queued:
                return None
            self.refused.append(ApiCall(method, args, token))
            self._cond.notify_all()
            return queued.pop(0)

    def web_api(self, method: str, args: dict[str, Any], token: str) -> dict[str, Any]:
        with self._cond:
            self.calls.append(ApiCall(method, args, token))
            self._cond.notify_all()
        if method == "apps.connections.open":
            return {"ok": True, "url": self.ws_url}
        if method == "auth.test":
            return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1"}
        if method in ("chat.postMessage", "chat.update"):
            ts = str(args.get("ts") or f"{1700000000 + next(self._ts)}.000100")
            if method == "chat.postMessage" and args.get("thread_ts"):  # the bot's own reply shows in the thread
                with self._cond:
                    self.replies.setdefault(str(args["thread_ts"]), []).append(
                        {"ts": ts, "thread_ts": args["thread_ts"], "bot_id": "BBOT", "text": args.get("text")})
            return {"ok": True, "channel": args.get("channel"), "ts": ts, "message": {"text": args.get("text")}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{time.time():.6f}"}
        if method == "conversations.replies":
            ts = str(args.get("ts"))
            with self._cond:
                replies = list(self.replies.get(ts, []))
            return {"ok": True, "messages": [{"ts": ts, "text": "question", "bot_id": "BBOT"}, *replies]}
        return {"ok": True}

    def calls_to(self, method: str) -> list[ApiCall]:
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def wait_for_call(self, method: str, *, count: int = 1, timeout: float = 10.0) -> list[ApiCall]:
        """Block until ``count`` calls to ``method`` arrived; raise TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len([c for c in self.calls if c.method == method]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {count}× {method} within {timeout}s; saw {[c.method for c in self.calls]}")
                self._cond.wait(left)
            return [c for c in self.calls if c.method == method]

    def add_reply(self, thread_ts: str, *, user: str, text: str) -> None:
        """A person replies in a message's thread (seen through conversations.replies)."""
        with self._cond:
            self.replies.setdefault(thread_ts, []).append(
                {"ts": f"{time.time():.6f}", "thread_ts": thread_ts, "user": user, "text": text})

    # ------------------------------------------------------------------ socket mode

    def _on_socket(self, connection: ServerConnection) -> None:
        connection.send(json.dumps({"type": "hello", "num_connections": 1,
                                    "debug_info": {"host": "fake-slack"}, "connection_info": {"app_id": "A1"}}))
        with self._cond:
            self._sockets.append(connection)
            self._cond.notify_all()
        try:
            for raw in connection:
                message = json.loads(raw)
                if "envelope_id" in message:
                    with self._cond:
                        self.acks[str(message["envelope_id"])] = time.monotonic()
                        self._cond.notify_all()
        except Exception:  # noqa: BLE001 — a client going away ends its socket, nothing more
            pass
        finally:
            with self._cond:
                if connection in self._sockets:
                    self._sockets.remove(connection)

    def wait_connected(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._sockets:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no Socket Mode client connected")
                self._cond.wait(left)

    def send_envelope(self, kind: str, payload: dict[str, Any]) -> str:
        """Push one envelope to every connected client; return its id."""
        envelope_id = str(uuid.uuid4())
        text = json.dumps({"envelope_id": envelope_id, "type": kind, "payload": payload,
                           "accepts_response_payload": False, "retry_attempt": 0, "retry_reason": ""})
        self.wait_connected()
        with self._cond:
            sockets = list(self._sockets)
        for connection in sockets:
            connection.send(text)
        return envelope_id

    def click(self, *, user: str, value: str, channel: str = "C1", message_ts: str = "") -> str:
        """A person clicks a button whose value is ``value``."""
        return self.send_envelope("interactive", {
            "type": "block_actions", "user": {"id": user, "username": user.lower()}, "channel": {"id": channel},
            "message": {"ts": message_ts}, "container": {"message_ts": message_ts, "channel_id": channel},
            "actions": [{"action_id": "coffee_maker_" + value.rsplit("|", 1)[-1], "value": value, "type": "button",
                         "block_id": "b"}]})

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> float:
        deadline = time.monotonic() + timeout
        with self._cond:
            while envelope_id not in self.acks:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"envelope {envelope_id} was not acknowledged")
                self._cond.wait(left)
            return self.acks[envelope_id]


def _handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 — the stdlib's name
            return None

        def _answer(self) -> None:
            url = urlparse(self.path)
            method = url.path.rsplit("/", 1)[-1]
            args: dict[str, Any] = dict(parse_qsl(url.query))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8") if length else ""
            if body:
                if "json" in (self.headers.get("Content-Type") or ""):
                    args.update(json.loads(body))
                else:
                    args.update(dict(parse_qsl(body)))
            for key in ("blocks", "attachments"):
                if isinstance(args.get(key), str):
                    args[key] = json.loads(args[key])
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            refused = fake.refusal(method, args, token)
            if refused is not None:
                status, retry_after = refused
                error = "ratelimited" if status == 429 else "internal_error"
                data = json.dumps({"ok": False, "error": error}).encode()
                self.send_response(status)
                if retry_after is not None:
                    self.send_header("Retry-After", str(retry_after))
            else:
                data = json.dumps(fake.web_api(method, args, token)).encode()
                self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _answer
        do_POST = _answer

    return Handler
