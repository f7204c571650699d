"""When `coffee-maker run --once` ends, and with which exit code (``errors.ExitCode``).

A person is watching this one run, so it ends as soon as its priority reached a PR or an end — and a
failed attempt whose retry is due soon is waited for (at most ``ONCE_MAX_WAIT_S``), saying when; a
later retry is named and the run ends, rather than holding the terminal for an hour.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

from coffee_maker.config.daemon import DaemonSettings
from coffee_maker.daemon.idle import retry_times
from coffee_maker.daemon.policy import clock
from coffee_maker.daemon.state import FINISHED, IN_REVIEW, Phase, StateStore
from coffee_maker.daemon.status import StatusBoard
from coffee_maker.errors import ExitCode

log = structlog.get_logger(__name__)

#: The longest `run --once` waits for a retry of its priority before it ends, saying when the retry is due.
ONCE_MAX_WAIT_S = 600.0


class OnceEnd:
    def __init__(self, store: StateStore, settings: DaemonSettings, status: StatusBoard, *,
                 stopping: threading.Event, daily_budget_hit: Callable[[], bool],
                 sleep: Callable[[float], None]) -> None:
        self.store, self.settings, self.status = store, settings, status
        self.stopping, self.daily_budget_hit, self.sleep = stopping, daily_budget_hit, sleep

    def result(self, pid: str | None) -> int | None:
        """The exit code once the run's priority reached an end, else None (after waiting for a retry)."""
        if self.daily_budget_hit():
            return ExitCode.BUDGET
        state = self.store.get(pid) if pid else None
        if state is None:
            upcoming = [due for due in retry_times(self.store, self.settings) if due > time.time()]
            if pid is None and not upcoming:
                log.info("nothing to do")
                return ExitCode.OK
            if pid is None:
                return self._wait_for_retry(None, min(upcoming))
            return ExitCode.OK if self.stopping.is_set() else None
        if state.phase in IN_REVIEW | FINISHED:
            return ExitCode.OK
        if state.phase is Phase.BLOCKED:
            log.error("the priority is blocked", priority=state.priority, reason=state.reason)
            return ExitCode.BUDGET if state.extra.get("budget") else ExitCode.BLOCKED
        if state.phase is Phase.RETRY:
            return self._wait_for_retry(state.priority, state.retry_due(self.settings.retry_delay_s))
        return None  # left mid-way (a usage limit slept out, an interruption): the next step resumes it

    def _wait_for_retry(self, pid: str | None, due: float) -> int | None:
        """Wait for a retry due within ONCE_MAX_WAIT_S; a later one is named, and the run ends."""
        wait, what = due - time.time(), pid or "a priority"
        if wait > ONCE_MAX_WAIT_S:
            log.error(f"{what} failed; its next attempt is due at {clock(due)}: run again then, "
                      "or leave `coffee-maker run` running", priority=pid)
            return ExitCode.FAILED
        if wait > 0:
            log.info(f"waiting for the next attempt of {what} at {clock(due)} (Ctrl-C to stop)",
                     max_attempts=self.settings.max_attempts)
            self.status.waiting_for_retry(f"a retry of {what} at {clock(due)}")
            self.sleep(wait)
        return None
