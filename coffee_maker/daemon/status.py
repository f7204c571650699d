"""The daemon's live status, in one home: what `status` and the web page show while it runs.

Why named writes: eleven ``set_info(phase=…, current=…)`` calls spread over the loop and the
failure policy could each leave the fields half-updated; here each situation writes all of its
fields together. The stored keys (``phase``, ``current``, ``waiting_for``, ``last_outcome``,
``paused_until``) stay as the readers know them. ``phase`` holds the live status below, or,
while working, the step the attempt is in ("agent running", "validating", …). ``Phase`` (the
state machine of a priority) is a different thing and lives in ``daemon/state.py``.
"""

from __future__ import annotations

import time
from enum import StrEnum

from coffee_maker.daemon.state import StateStore

#: What a daemon that spent the day's budget waits for (`status`, the web page, the idle line).
DAILY_BUDGET_WAIT = "the daily budget to reset tomorrow (daily_hard_cap_usd)"


class LiveStatus(StrEnum):
    IDLE = "idle"
    WORKING = "working"
    PAUSED = "paused"  # a limit or the daily budget
    WAITING = "waiting"  # for a person to fix something (an unpushed roadmap, an empty remote)


class StatusBoard:
    def __init__(self, store: StateStore) -> None:
        self.store = store

    def heartbeat(self) -> None:
        self.store.set_info(heartbeat=time.time())

    def working(self, pid: str) -> None:
        self.store.set_info(current=pid, phase=LiveStatus.WORKING.value, started=time.time(), waiting_for=None,
                            last_action=None)

    def step(self, name: str) -> None:
        """The step the attempt is in, shown instead of "working"."""
        self.store.set_info(phase=name)

    def finished(self) -> None:
        """The attempt is over, whatever its end."""
        self.store.set_info(current=None, phase=LiveStatus.IDLE.value)

    def idle(self, waiting_for: str) -> None:
        self.store.set_info(phase=LiveStatus.IDLE.value, current=None, waiting_for=waiting_for)

    def waiting_for_retry(self, what: str) -> None:
        self.store.set_info(phase=LiveStatus.IDLE.value, waiting_for=what)

    def waiting_for_fix(self, problem: str) -> None:
        self.store.set_info(phase=LiveStatus.WAITING.value, waiting_for=problem, problem=problem)

    def fixed(self) -> None:
        self.store.set_info(problem=None, waiting_for=None)

    def paused(self, pid: str, *, until: float, why: str, limit: str) -> None:
        self.store.set_info(phase=LiveStatus.PAUSED.value, paused_until=until, last_outcome=f"{pid}: {limit}",
                            waiting_for=why)

    def paused_for_the_day(self) -> None:
        """Written with what it waits for, so no reader sees the pause without its reason."""
        self.store.set_info(phase=LiveStatus.PAUSED.value, last_outcome="daily budget reached",
                            waiting_for=DAILY_BUDGET_WAIT)

    def outcome(self, pid: str, text: str) -> None:
        self.store.set_info(last_outcome=f"{pid}: {text}")
