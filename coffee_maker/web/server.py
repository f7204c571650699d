"""The socket side: a threaded stdlib HTTP server the daemon starts beside its loop, and stops.

Why the standard library server (docs/tech_decisions/web-dashboard.md): a local page
for one person needs no ASGI stack; measured, it answers faster than Starlette on
uvicorn here and adds no event loop to the daemon. Every thread it makes is a daemon
thread (the accept loop and one per connection), and ``close()`` stops the accept
loop, so it can never keep the daemon alive after SIGTERM. Each connection has a
socket timeout, so a stalled browser ties up only its own thread, never the daemon.
"""

from __future__ import annotations

import ipaddress
import socket
import sqlite3
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import structlog

from coffee_maker.config import LoadedConfig
from coffee_maker.web._app import Request, Response, WebApp
from coffee_maker.web._token import load_or_create_token, remove_info, write_info

log = structlog.get_logger(__name__)

#: How often the live-update stream looks for a change (PRAGMA data_version: no table is read).
EVENT_POLL_S = 0.1
_HEARTBEAT_S = 15.0
_MAX_FORM = 64 * 1024


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once (else ~40 ms of delayed-ACK per request)
    timeout = 30  # a stalled browser: its connection is dropped, never waited on forever
    server: _Server
    server_version = "coffee_maker"  # no Python or library version in the headers
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 — the base class's name
        pass  # the request line can carry ?token=…: it is never logged

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("web request", method=self.command, path=urlsplit(self.path).path, status=code)

    def do_GET(self) -> None:  # noqa: N802 — the base class's naming
        self._serve("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        form: dict[str, str] = {}
        if method == "POST":
            length = int(headers.get("content-length") or 0)
            if length > _MAX_FORM:
                self._send(Response(413, b"That form is too large.", "text/plain; charset=utf-8"))
                return
            form = dict(parse_qsl(self.rfile.read(length).decode("utf-8", "replace"), keep_blank_values=True))
        request = Request(method, url.path, dict(parse_qsl(url.query)), headers, form)
        app = self.server.app
        if url.path == "/events" and method == "GET" and "token" not in request.query and app.authorised(request):
            self._stream_events()
            return
        try:
            response = app.handle(request)
        except Exception as exc:  # noqa: BLE001 — a broken page must not take the daemon down
            # The traceback as text, never exc_info: the log's rich tracebacks show locals, and the
            # request's locals hold the token (cookie or Authorization header).
            log.warning("web page failed", path=url.path, error=f"{type(exc).__name__}: {exc}",
                        traceback=traceback.format_exc(limit=8))
            response = Response(500, b"This page failed; the daemon's log has the details.", "text/plain; charset=utf-8")
        self._send(response, head=method == "HEAD")

    def _send(self, response: Response, *, head: bool = False) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        # same-origin, not no-referrer: with no-referrer a form POST carries `Origin: null`, which the CSRF check refuses.
        self.send_header("Referrer-Policy", "same-origin")
        self.send_header("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                         "img-src 'self' data:; frame-ancestors 'none'")
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    def _stream_events(self) -> None:
        """Server-sent events: one ``change`` each time the daemon's state or the inbox is committed to."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        watch = _ChangeWatch([self.server.app.src.store.path, self.server.app.src.inbox.path])
        try:
            self.wfile.write(b"retry: 2000\n\n")
            self.wfile.flush()
            last_beat = time.monotonic()
            while not self.server.stopping.wait(EVENT_POLL_S):
                if watch.changed():
                    self.wfile.write(b"event: change\ndata: {}\n\n")
                    self.wfile.flush()
                elif time.monotonic() - last_beat > _HEARTBEAT_S:
                    self.wfile.write(b": still here\n\n")
                    self.wfile.flush()
                    last_beat = time.monotonic()
        except (BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
            pass  # the browser went away
        finally:
            watch.close()


#: How long close() waits for the accept loop to end before the daemon exits without it.
SHUTDOWN_WAIT_S = 5.0


class _ChangeWatch:
    """Notices commits to a few SQLite files from other connections, cheaply (no table access)."""

    def __init__(self, paths: list[Path]) -> None:
        self._conns = [sqlite3.connect(f"file:{p}?mode=ro", uri=True, check_same_thread=False)
                       for p in paths if p.exists()]
        self._seen = self._versions()

    def _versions(self) -> list[int]:
        return [int(c.execute("PRAGMA data_version").fetchone()[0]) for c in self._conns]

    def changed(self) -> bool:
        now = self._versions()
        if now != self._seen:
            self._seen = now
            return True
        return False

    def close(self) -> None:
        for conn in self._conns:
            conn.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: WebApp | None) -> None:
        self.app: WebApp = app  # type: ignore[assignment]  # set before serving starts
        self.stopping = threading.Event()
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser that went away mid-answer is normal: one debug line, never a traceback on the terminal."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            log.debug("web connection dropped", error=type(error).__name__)
        else:
            log.warning("web connection failed", error=f"{type(error).__name__}: {error}")


class WebServer:
    """The dashboard for one daemon: ``start()`` binds (or warns and returns None), ``close()`` stops it."""

    def __init__(self, loaded: LoadedConfig, *, wake: threading.Event | None = None) -> None:
        self.loaded = loaded
        self.wake = wake
        self.url: str | None = None
        self.token: str | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str | None:
        """Listen and serve in a daemon thread; the URL with the token, or None when it cannot bind."""
        settings = self.loaded.config.web
        try:
            server = _Server((settings.host, settings.port), None)
        except OSError as exc:
            log.warning("the web dashboard could not listen; the daemon runs on without it",
                        host=settings.host, port=settings.port, error=exc.strerror or str(exc))
            return None
        host, port = str(server.server_address[0]), int(server.server_address[1])
        self.token = load_or_create_token(self.loaded.layout)
        server.app = WebApp(self.loaded, token=self.token, port=port, host=host, wake=self.wake)
        self._server = server
        shown = f"[{host}]" if ":" in host else host
        base = f"http://{shown}:{port}/"
        self.url = f"{base}?token={self.token}"
        if not is_loopback(settings.host):
            log.warning("the web dashboard listens beyond loopback: anyone who can reach it and has the token can "
                        "answer for you; every request needs the token", host=settings.host, port=port)
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="web-dashboard", daemon=True)
        self._thread.start()
        # The history's counts, read once now so the first visit does not pay for a long log.
        threading.Thread(target=server.app.src.history.refresh, name="web-history-warmup", daemon=True).start()
        write_info(self.loaded.layout, url=base, pid=_pid())
        log.info("web dashboard listening", url=base)
        return self.url

    def attach(self, wake: threading.Event) -> None:
        """Called each time the daemon is (re)built: the first call starts serving and prints the URL once."""
        self.wake = wake
        if self._server is not None:
            self._server.app.wake = wake
            return
        if self._thread is None and self.loaded.config.web.enabled:
            url = self.start()
            if url is not None:
                # The token only to a terminal: never into the log file, nor a journal or a CI log.
                shown = url if sys.stderr.isatty() else url.split("?")[0] + "  (`coffee-maker web` for the token)"
                sys.stderr.write(f"☕ dashboard and inbox: {shown}\n")
                sys.stderr.flush()

    def close(self) -> None:
        server = self._server
        if server is None:
            return
        self._server = None
        server.stopping.set()  # live-update streams end at their next poll
        # Bounded: the accept loop's end is waited for a few seconds at most, so the page can never
        # hold the daemon past SIGTERM (its threads are daemon threads and end with the process).
        stopper = threading.Thread(target=server.shutdown, name="web-shutdown", daemon=True)
        stopper.start()
        stopper.join(SHUTDOWN_WAIT_S)
        if stopper.is_alive():
            log.warning("the web dashboard did not stop in time; it ends with the daemon", waited_s=SHUTDOWN_WAIT_S)
        server.server_close()
        server.app.close()
        remove_info(self.loaded.layout, _pid())


def _pid() -> int:
    import os

    return os.getpid()
