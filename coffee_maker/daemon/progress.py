"""What a person watching the terminal sees while an attempt runs.

On a TTY: one live status line (priority, phase, elapsed, turns, cost) that
redraws in place every second. Log lines printed to the same terminal first clear
it (a logging filter), so the two never share a row. Off a TTY (systemd, CI,
pipes): nothing — the logs say it all. While the terminal channel asks a person,
the line is paused (``pause``/``resume``) so it never redraws over the prompt. With several
lanes the line shows each running lane in turn order (``lane=`` on start/update/finish).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class _Slot:
    priority: str
    phase: str = "starting"
    turns: int = 0
    cost: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def text(self) -> str:
        elapsed = int(time.monotonic() - self.started)
        return (f"{self.priority} · {self.phase} · {elapsed // 60}m{elapsed % 60:02d}s"
                f" · {self.turns} turn{'' if self.turns == 1 else 's'} · ${self.cost:.2f}")


class Progress:
    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._lock = threading.Lock()
        self.slots: dict[int, _Slot] = {}
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

    @property
    def priority(self) -> str:
        """The priority shown (the first lane's): empty when nothing runs."""
        slot = next(iter(self.slots.values()), None)
        return slot.priority if slot else ""

    def start(self, priority: str, *, lane: int = 0) -> None:
        with self._lock:
            self.slots[lane] = _Slot(priority)
        self.render()
        if self.enabled and (self._ticker is None or not self._ticker.is_alive()):
            self._active.set()
            self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
            self._ticker.start()

    def finish(self, *, lane: int = 0) -> None:
        """The lane's attempt is over: the last one stops redrawing and clears the line."""
        with self._lock:
            self.slots.pop(lane, None)
            last = not self.slots
        if last:
            self._active.clear()
            self.clear()
        else:
            self.render()

    def update(self, *, phase: str | None = None, turns: int | None = None, cost: float | None = None,
               lane: int = 0) -> None:
        with self._lock:
            if (slot := self.slots.get(lane)) is None:
                return
            if phase is not None:
                slot.phase = phase
            if turns is not None:
                slot.turns = turns
            if cost is not None:
                slot.cost = cost
        self.render()

    def line(self) -> str:
        slots = [slot for _, slot in sorted(self.slots.items())]
        return "☕ " + " | ".join(slot.text() for slot in slots)

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
