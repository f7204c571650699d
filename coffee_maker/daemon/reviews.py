"""Following open pull requests: merged → done, closed → blocked; CI, review threads and merging (``pr_loop``).

A PR whose feedback the agent works on now (``extra["fixing"]``) is watched too: merged or closed by a
person meanwhile, ``on_gone`` stops that agent, and the attempt ends in ``settle`` — nothing is pushed.

A forge that fails (down, a bad token, a rate limit) never stops the daemon: the
error is logged, the next poll waits — until the forge's reset time for a rate limit
(an error carrying ``retry_at``), else a doubling back-off — and the daemon carries on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import structlog

from coffee_maker.daemon.policy import closed_pull_request
from coffee_maker.daemon.pr_loop import LoopSettings, PullRequestLoop
from coffee_maker.daemon.pr_policy import Feedback
from coffee_maker.daemon.services import Services
from coffee_maker.daemon.stacking import Stacking
from coffee_maker.daemon.state import ACTIVE, IN_REVIEW, Phase, StateStore
from coffee_maker.errors import CoffeeMakerError
from coffee_maker.types import Priority, PRState, PullRequest

log = structlog.get_logger(__name__)

#: The longest wait after repeated forge errors without a reset time.
MAX_BACKOFF_S = 1800.0


def retry_at_of(exc: BaseException) -> float | None:
    """The epoch time a rate-limit error says to retry at (``retry_at``/``reset_at``: epoch or datetime)."""
    for name in ("retry_at", "reset_at"):
        value = getattr(exc, name, None)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, int | float) and value > 0:
            return float(value)
    return None


class PullRequestPoller:
    """Polls the forge for the priorities in review, at most every ``interval_s``, backing off on errors."""

    def __init__(self, store: StateStore, services: Services, *, interval_s: float,
                 on_feedback: Callable[[str, Feedback], None], settings: LoopSettings | None = None,
                 on_gone: Callable[[str, PullRequest], None] | None = None,
                 priority_of: Callable[[str], Priority | None] | None = None) -> None:
        self.store = store
        self.services = services
        self.interval_s = interval_s
        self.on_feedback = on_feedback
        self.on_gone = on_gone or (lambda _pid, _pr: None)  # the PR of a fix under way was merged or closed
        self.last_poll = 0.0  # monotonic
        self.not_before = 0.0  # wall clock: no forge call before this (a rate limit, a back-off)
        self._failures = 0
        self.loop = PullRequestLoop(store, services, settings or LoopSettings(), interval_s=interval_s,
                                    priority_of=priority_of)
        self.stacking = Stacking(store, services, lambda: self.loop.settings)

    def configure(self, settings: LoopSettings) -> None:
        """The [forge]/[daemon] settings of the loop (``wiring`` passes the loaded configuration's)."""
        self.loop.settings = settings

    def due_in(self) -> float:
        """Seconds until the next poll (fetch and forge), never negative."""
        interval_left = self.last_poll + self.interval_s - time.monotonic()
        return max(0.0, interval_left, self.not_before - time.time())

    def poll(self, *, force: bool = False) -> None:
        if not force and self.due_in() > 0:
            return
        self.last_poll = time.monotonic()
        try:
            self.services.git.fetch()
        except CoffeeMakerError as exc:
            log.warning("fetch failed", error=exc.message)
        if time.time() < self.not_before:
            return  # the forge asked us to wait; a forced poll still fetched
        pending: list[tuple[str, Feedback]] = []
        fixing = [s for s in self.store.in_phases(ACTIVE) if s.extra.get("fixing")]
        for state in [*self.store.in_phases(IN_REVIEW), *fixing]:
            if not state.branch:
                continue
            try:
                if (settled := self.stacking.settle(state)).phase is Phase.BLOCKED:
                    continue  # a stacked PR whose parent's PR was closed: blocked
                state = settled  # a fix under way (``fixing``) stays in its phase: a merge or close still stops it
                pr = self.services.forge.find(state.branch or "")
                if pr is None:
                    continue
                if state.phase is not Phase.PR_OPEN:  # its fix runs now: only a person's merge or close matters
                    if pr.state is not PRState.OPEN:
                        self.on_gone(state.priority, pr)
                    continue
                self.settle(state.priority, pr)
                now = self.store.get(state.priority)
                fresh = self.loop.follow(now, pr) if now is not None and now.phase in IN_REVIEW else None
            except Exception as exc:  # noqa: BLE001 — every forge failure is logged and waited out, never fatal
                self._back_off(state.priority, exc)
                return
            if fresh is not None:
                pending.append((state.priority, fresh))
        if self._failures:
            log.info("the forge answers again", after_failures=self._failures)
            self.store.set_info(forge_problem=None, forge_retry_at=None)
        self._failures = 0
        for pid, feedback in pending:  # outside the try: the agent's work is not a forge error
            self.on_feedback(pid, feedback)

    def settle(self, pid: str, pr: PullRequest, *, mid_fix: bool = False) -> None:
        """Record a merge or a close (by a person); ``mid_fix``: it came while the agent fixed feedback."""
        stopped = " The agent's fix under way was stopped; nothing was pushed." if mid_fix else ""
        if pr.state is PRState.MERGED:
            self.store.transition(pid, Phase.MERGED, extra={"fixing": None, "replies_due": None})
            self.store.transition(pid, Phase.DONE)
            log.info("pull request merged", priority=pid, pr=pr.url, mid_fix=mid_fix)
            if mid_fix:
                self.services.notifier.inform(f"{pid}: PR #{pr.number} was merged while the agent worked on its "
                                              f"feedback.{stopped}", priority=pid, kind="merged")
        elif (block := closed_pull_request(pid, pr)) is not None:
            self.store.transition(pid, Phase.CLOSED, extra={"fixing": None, "replies_due": None})
            self.store.transition(pid, Phase.BLOCKED, reason=block.reason)
            self.services.notifier.inform(block.notice + stopped, priority=pid, kind="blocked")

    def _back_off(self, pid: str, exc: BaseException) -> None:
        self._failures += 1
        now = time.time()
        reset = retry_at_of(exc)
        if reset is not None and reset > now:
            self.not_before = reset
        else:
            self.not_before = now + min(MAX_BACKOFF_S, self.interval_s * 2 ** (self._failures - 1))
        message = exc.message if isinstance(exc, CoffeeMakerError) else f"{type(exc).__name__}: {exc}"
        log.error("the forge failed while following pull requests; carrying on and polling again later",
                  priority=pid, error=message, rate_limited=reset is not None,
                  next_poll_at=time.strftime("%H:%M:%S", time.localtime(self.not_before)))
        self.store.set_info(forge_problem=message, forge_retry_at=self.not_before)
