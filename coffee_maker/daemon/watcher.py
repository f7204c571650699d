"""Wake the daemon when the roadmap changes on disk.

watchdog watches the roadmap's directory (and, for a symlinked roadmap, its
target's directory), because editors save atomically: they write a temp file
and rename it over the original, which arrives as a move or create event, not a
modify. Events are debounced, then the content hash decides whether anything
really changed, so a touch or a no-op save does not wake the loop.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import structlog
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

log = structlog.get_logger(__name__)


def file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


class RoadmapWatcher(FileSystemEventHandler):
    """Sets ``changed`` (a threading.Event) when the roadmap's content changes."""

    def __init__(self, path: Path, *, debounce_s: float = 0.1, polling: bool = False) -> None:
        self.path = path
        self.debounce_s = debounce_s
        self.changed = threading.Event()
        self._names = {os.path.abspath(path), os.path.realpath(path)}
        self._digest = file_digest(path)
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._observer = PollingObserver(timeout=0.5) if polling else Observer()

    def start(self) -> None:
        directories = {os.path.dirname(name) for name in self._names}
        for directory in directories:
            if os.path.isdir(directory):
                self._observer.schedule(self, directory, recursive=False)
        self._observer.daemon = True
        self._observer.start()
        log.debug("watching roadmap", path=str(self.path), directories=sorted(directories))

    def stop(self) -> None:
        with self._lock:
            if self._timer:
                self._timer.cancel()
        self._observer.stop()
        self._observer.join(timeout=5)

    def acknowledge(self) -> None:
        """The loop has re-read the roadmap: remember its content as seen."""
        self.changed.clear()
        self._digest = file_digest(self.path)

    def on_any_event(self, event: FileSystemEvent) -> None:
        paths = {os.path.abspath(str(event.src_path))}
        dest = getattr(event, "dest_path", "")
        if dest:
            paths.add(os.path.abspath(str(dest)))
        if paths & self._names:
            with self._lock:
                if self._timer:
                    self._timer.cancel()
                self._timer = threading.Timer(self.debounce_s, self._settle)
                self._timer.daemon = True
                self._timer.start()

    def _settle(self) -> None:
        digest = file_digest(self.path)
        if digest is not None and digest != self._digest:
            self._digest = digest
            log.info("roadmap changed on disk", path=str(self.path))
            self.changed.set()
