"""What a person watching the terminal sees while an attempt runs.

On a TTY: one live status line (priority, phase, elapsed, turns, cost) that
redraws in place every second. Log lines printed to the same terminal first clear
it (a logging filter), so the two never share a row. Off a TTY (systemd, CI,
pipes): nothing — the logs say it all. While the terminal channel asks a person,
the line is paused (``pause``/``resume``) so it never redraws over the prompt.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._lock = threading.Lock()
        self.priority = ""
        self.phase = ""
        self.turns = 0
        self.cost = 0.0
        self.started = time.monotonic()
        self._shown = False
        self._ticker: threading.Thread | None = None
        self._active = threading.Event()
        self._paused = 0

    def attach_to_logging(self) -> None:
        """Clear the status line before any log record is written to a terminal."""
        if not self.enabled:
            return
        for handler in logging.getLogger().handlers:
            stream = getattr(handler, "stream", None)
            if stream is not None and getattr(stream, "isatty", lambda: False)():
                handler.addFilter(self._clear_before_log)

    def _clear_before_log(self, record: logging.LogRecord) -> bool:
        self.clear()
        return True

    def _tick(self) -> None:
        while self._active.wait(1.0) and self._active.is_set():
            self.render()

    def start(self, priority: str) -> None:
        with self._lock:
            self.priority, self.phase, self.turns, self.cost = priority, "starting", 0, 0.0
            self.started = time.monotonic()
        self.render()
        if self.enabled and (self._ticker is None or not self._ticker.is_alive()):
            self._active.set()
            self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
            self._ticker.start()

    def finish(self) -> None:
        """The attempt is over: stop redrawing and clear the line."""
        self._active.clear()
        with self._lock:
            self.priority = ""
        self.clear()

    def update(self, *, phase: str | None = None, turns: int | None = None, cost: float | None = None) -> None:
        with self._lock:
            if phase is not None:
                self.phase = phase
            if turns is not None:
                self.turns = turns
            if cost is not None:
                self.cost = cost
        self.render()

    def line(self) -> str:
        elapsed = int(time.monotonic() - self.started)
        return (f"☕ {self.priority} · {self.phase} · {elapsed // 60}m{elapsed % 60:02d}s"
                f" · {self.turns} turn{'' if self.turns == 1 else 's'} · ${self.cost:.2f}")

    def pause(self) -> None:
        """Stop drawing (and clear the line) until ``resume``: someone is typing an answer on this terminal."""
        with self._lock:
            self._paused += 1
        self.clear()

    def resume(self) -> None:
        """Draw again after a ``pause`` (pauses nest)."""
        with self._lock:
            self._paused = max(0, self._paused - 1)
        self.render()

    def render(self) -> None:
        if not self.enabled or not self.priority or self._paused:
            return
        with self._lock:
            self.stream.write("\r\x1b[2K" + self.line())
            self.stream.flush()
            self._shown = True

    def clear(self) -> None:
        if self.enabled and self._shown:
            with self._lock:
                self.stream.write("\r\x1b[2K")
                self.stream.flush()
                self._shown = False
