"""The one small protocol every agent backend implements, and the limits they share.

Why sync + threads: the daemon is synchronous. ``run`` blocks the caller until the
session ends; events and decision requests are delivered on the caller's thread
(events) or a worker thread (decisions, which may wait minutes for a person), and
``stop`` may be called from any thread or a signal handler.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import Protocol, runtime_checkable

from coffee_maker.agent.events import AgentEvent
from coffee_maker.config.agent import AgentSettings
from coffee_maker.types import DecisionCallback, OutcomeKind, SessionOutcome

EventCallback = Callable[[AgentEvent], None]


@runtime_checkable
class AgentBackend(Protocol):
    """Start a session with a prompt in a working directory; stream events; decide; stop."""

    name: str

    def run(self, prompt: str, cwd: Path | str, *, on_event: EventCallback, decide: DecisionCallback,
            resume_session_id: str | None = None) -> SessionOutcome:
        """Run one session to its end (or a limit) and say how it ended. Never raises for
        what the agent did; raises :class:`~coffee_maker.errors.AgentError` when it cannot
        start or does not speak its protocol."""
        ...

    def stop(self) -> None:
        """Ask the running session to end now (thread- and signal-safe; idempotent). A stop that
        comes before ``run`` (the daemon has the agent, the run has not begun) ends that run at once."""
        ...


class StopFlag:
    """A stop request that is safe to set from a signal handler.

    ``threading.Event.set`` takes a lock the interrupted thread may hold (deadlock);
    this only assigns a bool and puts on a ``SimpleQueue``, whose ``put`` is reentrant.
    """

    def __init__(self) -> None:
        self._set = False
        self._wake: SimpleQueue[None] = SimpleQueue()

    def set(self) -> None:
        self._set = True
        self._wake.put(None)

    def clear(self) -> None:
        self._set = False
        while not self._wake.empty():
            try:
                self._wake.get_nowait()
            except Empty:
                break

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, returning early once set; True when set."""
        if not self._set:
            try:
                self._wake.get(timeout=max(0.0, timeout))
            except Empty:
                pass
        return self._set


@dataclass(frozen=True)
class Limits:
    """When a session is stopped from the outside. ``0`` or less disables a limit."""

    idle_timeout_s: float = 600.0
    total_timeout_s: float = 3600.0
    max_turns: int = 200
    max_cost_usd: float = 10.0
    decision_timeout_s: float = 900.0
    max_followups: int = 3

    @classmethod
    def from_settings(cls, s: AgentSettings) -> Limits:
        return cls(idle_timeout_s=s.idle_timeout_s, total_timeout_s=s.total_timeout_s, max_turns=s.max_turns,
                   max_cost_usd=s.max_cost_usd, decision_timeout_s=s.decision_timeout_s,
                   max_followups=s.max_followups)


class SessionClock:
    """Idle and total time of one session. Pending decisions pause the idle clock."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.started = time.monotonic()
        self.last_activity = self.started
        self.pending = 0

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    def expired(self) -> tuple[OutcomeKind, str] | None:
        """``(TIMEOUT, reason)`` once a time limit is passed, else None."""
        now = time.monotonic()
        total = self.limits.total_timeout_s
        if total > 0 and now - self.started > total:
            return OutcomeKind.TIMEOUT, f"total timeout: the session ran longer than {total:g}s"
        idle = self.limits.idle_timeout_s
        if idle > 0 and not self.pending and now - self.last_activity > idle:
            return OutcomeKind.TIMEOUT, f"idle timeout: the agent printed nothing for {idle:g}s"
        return None

    def check_usage(self, turns: int, cost_usd: float) -> tuple[OutcomeKind, str] | None:
        """``(LIMIT, reason)`` when max turns or max cost is exceeded."""
        if self.limits.max_turns > 0 and turns > self.limits.max_turns:
            return OutcomeKind.LIMIT, f"max turns: the agent used more than {self.limits.max_turns} turns"
        if self.limits.max_cost_usd > 0 and cost_usd > self.limits.max_cost_usd:
            return OutcomeKind.LIMIT, f"max cost: the session cost ${cost_usd:.2f} > ${self.limits.max_cost_usd:.2f}"
        return None

    def elapsed(self) -> float:
        return time.monotonic() - self.started
