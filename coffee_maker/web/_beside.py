"""The page started beside the daemon, off its critical path.

The web stack (Jinja2, the templates, three SQLite files) costs ~0.15 s to import
and open; the daemon should not wait for that before its first step, nor for the
page at all. So the first ``attach`` starts the server in a daemon thread, and
``close`` stops it whenever it got that far (or makes a late start stop itself).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from coffee_maker.config import LoadedConfig

if TYPE_CHECKING:
    from coffee_maker.web.server import WebServer


class WebBeside:
    def __init__(self, loaded: LoadedConfig) -> None:
        self.loaded = loaded
        self._lock = threading.Lock()
        self._server: WebServer | None = None
        self._starting: threading.Thread | None = None
        self._wake: threading.Event | None = None
        self._closed = False

    def attach(self, wake: threading.Event) -> None:
        """Each time the daemon is (re)built: the first call starts the page, later ones hand it the new wake."""
        with self._lock:
            self._wake = wake
            if self._server is not None:
                self._server.attach(wake)
            elif self._starting is None and self.loaded.config.web.enabled and not self._closed:
                self._starting = threading.Thread(target=self._start, name="web-start", daemon=True)
                self._starting.start()

    def _start(self) -> None:
        from coffee_maker.web.server import WebServer

        server = WebServer(self.loaded, wake=self._wake)
        assert self._wake is not None
        server.attach(self._wake)
        with self._lock:
            self._server = server
            late = self._closed
        if late:  # the daemon stopped while the page was starting
            server.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            server = self._server
        if server is not None:
            server.close()
