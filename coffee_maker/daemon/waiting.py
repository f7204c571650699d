"""What the daemon waits for, said once: a problem a person can fix, or why it is idle.

A daemon left running must neither die on something a person fixes in a minute (a
roadmap half-written by an editor, a rebase in progress, an unpushed roadmap) nor
repeat the same line every poll. Each distinct problem is logged once as an error,
its end once as info; each distinct idle reason once. `status` shows the current one.
"""

from __future__ import annotations

import structlog

from coffee_maker.daemon.status import StatusBoard
from coffee_maker.errors import CoffeeMakerError

log = structlog.get_logger(__name__)


class NotReady(CoffeeMakerError):
    """The repository is not ready for an attempt (no commits, an empty remote, an unpushed roadmap)."""


class Announcer:
    def __init__(self, status: StatusBoard) -> None:
        self.status = status
        self.problem_text: str | None = None
        self._idle: str | None = None

    def problem(self, message: str) -> None:
        """Work cannot go on until a person fixes ``message``; the daemon keeps running and re-checks."""
        if message != self.problem_text:
            log.error("waiting for a fix; the daemon keeps running and checks again", problem=message)
            self.problem_text = message
            self._idle = None
        self.status.waiting_for_fix(message)

    def resolved(self) -> None:
        if self.problem_text is not None:
            log.info("the problem is gone; carrying on", problem=self.problem_text)
            self.problem_text = None
            self.status.fixed()

    def idle(self, reason: str) -> None:
        """Nothing to do now: say once what the daemon waits for."""
        if reason != self._idle:
            log.info(f"idle: waiting for {reason}")
            self._idle = reason
        self.status.idle(reason)

    def working(self) -> None:
        self._idle = None
