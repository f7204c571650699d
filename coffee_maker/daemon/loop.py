"""The always-running loop: pick → advance → handle failure → watch PRs → idle.

Only this module (through ``wiring``) knows all the stages. Failure policy lives
here: a failed attempt is retried up to ``max_attempts`` and then blocked (never
loops forever); a usage limit sleeps until the reset and resumes the same
priority; a closed PR blocks its priority; review comments resume the agent.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from coffee_maker.config import LoadedConfig
from coffee_maker.daemon.attempt import AgentAuthFailed, AgentPaused, AttemptFailed, AttemptRunner
from coffee_maker.daemon.budget import BudgetVerdict, check_budget
from coffee_maker.daemon.ports import Services
from coffee_maker.daemon.progress import Progress
from coffee_maker.daemon.state import ACTIVE, FINISHED, IN_REVIEW, Phase, StateStore
from coffee_maker.errors import CoffeeMakerError
from coffee_maker.types import PRState, Priority, Status

log = structlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True)
class RoadmapView:
    """The parsed roadmap as the daemon uses it."""

    priorities: tuple[Priority, ...]
    guidelines: list[tuple[str, str]]

    def get(self, pid: str) -> Priority | None:
        return next((p for p in self.priorities if p.id == pid), None)


class Daemon:
    def __init__(
        self, loaded: LoadedConfig, services: Services, store: StateStore, *,
        read_roadmap: Callable[[], RoadmapView],
        pick: Callable[[RoadmapView, frozenset[str], frozenset[str]], Priority | None],
        progress: Progress | None = None,
        wake: threading.Event | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.loaded = loaded
        self.services = services
        self.store = store
        self.read_roadmap = read_roadmap
        self.pick = pick
        self.progress = progress or Progress(enabled=False)
        self.stopping = threading.Event()
        #: Leave run() between steps without stopping the agent (SIGHUP reload).
        self.leave = threading.Event()
        self.wake = wake or threading.Event()
        self._sleep_override = sleep
        self._paused_notified: set[str] = set()
        self._last_poll = 0.0

    # ------------------------------------------------------------------ control

    def request_stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        try:
            self.services.agent.stop()
        except Exception:  # noqa: BLE001 — stopping must not fail on a half-started agent
            log.warning("agent stop failed", exc_info=True)

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake at once for a stop or a roadmap change."""
        if self._sleep_override:
            self._sleep_override(seconds)
            return
        self.wake.wait(timeout=max(0.0, seconds))

    # ------------------------------------------------------------------ the loop

    def run(self, *, once: bool = False, only: str | None = None) -> int:
        """Work until stopped (or, with ``once``, until one priority reached a PR or failed)."""
        while not self.stopping.is_set() and not self.leave.is_set():
            self.store.set_info(heartbeat=time.time())
            self.poll_pull_requests(force=once)
            did_work = self.step(only=only)
            if once and (did_work or only):
                return 0
            if once and not did_work:
                log.info("nothing to do")
                return 0
            if not did_work:
                self.store.set_info(phase="idle", current=None)
                self.wake.clear()
                self.sleep(self._until_next_poll())
        return 0

    def step(self, *, only: str | None = None) -> bool:
        """One unit of work. Returns False when there was nothing to do."""
        view = self.read_roadmap()
        priority = self._resumable(view) if only is None else view.get(only)
        if only is not None and priority is None:
            raise CoffeeMakerError(f"{only} is not a priority in the roadmap.")
        if priority is None:
            priority = self.pick(self._effective(view), self.store.ids_in(IN_REVIEW),
                                 self.store.ids_in({Phase.BLOCKED}))
        if priority is None:
            return False
        if not self._within_budget(priority):
            return False
        self._attempt(priority, view)
        return True

    def _resumable(self, view: RoadmapView) -> Priority | None:
        """A priority left mid-way (crash, usage limit, retry) goes before anything new."""
        for state in sorted(self.store.all(), key=lambda s: s.updated_at):
            if state.phase in ACTIVE or state.phase is Phase.RETRY:
                priority = view.get(state.priority)
                if priority is not None:
                    return priority
                log.warning("priority in progress is no longer in the roadmap", priority=state.priority)
        return None

    def _effective(self, view: RoadmapView) -> RoadmapView:
        """Merged work counts as complete even before the person pulls the roadmap change."""
        finished = self.store.ids_in(FINISHED)
        return dataclasses.replace(view, priorities=tuple(
            dataclasses.replace(p, status=Status.COMPLETE) if p.id in finished else p for p in view.priorities
        ))

    def _attempt(self, priority: Priority, view: RoadmapView) -> None:
        runner = AttemptRunner(self.loaded, self.services, self.store, guidelines=view.guidelines,
                               on_progress=self.progress.update)
        self.progress.start(priority.id)
        self.store.set_info(current=priority.id, phase="working", started=time.time())
        log.info("working on priority", priority=priority.id, title=priority.title)
        try:
            state = runner.advance(priority)
            self.store.set_info(last_outcome=f"{priority.id}: {state.phase.value}")
        except AgentPaused as paused:
            self._pause_for_limit(priority, paused)
        except AgentAuthFailed as exc:
            self.services.notifier.inform(
                f"The coding agent cannot authenticate ({exc}). Log in (`claude login`) or set the API key, "
                "then restart coffee-maker.", priority=priority.id, kind="error")
            self.store.set_info(last_outcome=f"{priority.id}: agent authentication failed")
            self.request_stop()
        except AttemptFailed as failed:
            self._fail(priority, failed.reason)
        except CoffeeMakerError as exc:  # git / forge / agent start-up errors: a failed attempt, not a crash
            self._fail(priority, exc.message)
        finally:
            self.progress.clear()
            self.store.set_info(current=None, phase="idle")

    # ------------------------------------------------------------------ failure policy

    def _fail(self, priority: Priority, reason: str) -> None:
        state = self.store.get(priority.id)
        attempt = state.attempt if state else 1
        if self.stopping.is_set():
            log.info("attempt interrupted by shutdown; it resumes on the next start", priority=priority.id)
            return
        log.warning("attempt failed", priority=priority.id, attempt=attempt, reason=reason)
        on_fail = self.services.extra.get("on_attempt_failed")
        blocked = attempt >= self.loaded.config.daemon.max_attempts
        if callable(on_fail):
            try:
                on_fail(priority, state, reason, blocked)
            except CoffeeMakerError as exc:
                log.warning("cleanup after a failed attempt did not finish", error=exc.message)
        if blocked:
            self.store.transition(priority.id, Phase.BLOCKED, reason=reason, detail=reason)
            self.services.notifier.inform(
                f"{priority.id} is blocked after {attempt} failed attempts: {reason}", priority=priority.id,
                kind="blocked")
            self.store.set_info(last_outcome=f"{priority.id}: blocked")
        else:
            self.store.transition(priority.id, Phase.RETRY, reason=reason, detail=reason)
            self.store.set_info(last_outcome=f"{priority.id}: attempt {attempt} failed, will retry")

    def _pause_for_limit(self, priority: Priority, paused: AgentPaused) -> None:
        outcome = paused.outcome
        now = datetime.now(UTC)
        backoff = self.loaded.config.daemon.usage_limit_backoff_s
        if outcome.reset_at is not None:
            reset = outcome.reset_at if outcome.reset_at.tzinfo else outcome.reset_at.replace(tzinfo=UTC)
            wait = max(1.0, (reset - now).total_seconds())
        else:
            wait = 60.0 if outcome.kind.value == "overloaded" else backoff
        key = f"{priority.id}:{outcome.kind.value}"
        if key not in self._paused_notified:
            self._paused_notified.add(key)
            self.services.notifier.inform(
                f"The agent hit a {outcome.kind.value.replace('_', ' ')} on {priority.id}; "
                f"resuming the same priority in {wait / 60:.0f} min.", priority=priority.id, kind="paused")
        self.store.set_info(phase="paused", paused_until=time.time() + wait, last_outcome=f"{priority.id}: {outcome.kind.value}")
        log.info("paused for usage limit", priority=priority.id, seconds=round(wait))
        self.sleep(wait)

    def _within_budget(self, priority: Priority) -> bool:
        cfg = self.loaded.config.daemon
        state = self.store.get(priority.id)
        check = check_budget(
            priority_id=priority.id, priority_cost=state.cost_usd if state else 0.0,
            day_cost=self.store.day_cost(time.strftime("%Y-%m-%d")),
            priority_soft=cfg.priority_soft_cap_usd, priority_hard=cfg.priority_hard_cap_usd,
            day_soft=cfg.daily_soft_cap_usd, day_hard=cfg.daily_hard_cap_usd,
        )
        if check.verdict is BudgetVerdict.OK:
            return True
        if check.message not in self._paused_notified:
            self._paused_notified.add(check.message)
            self.services.notifier.inform(check.message, priority=priority.id, kind="budget")
        if check.verdict is BudgetVerdict.SOFT:
            return True
        if "daily" in check.message:
            self.store.set_info(phase="paused", last_outcome="daily budget reached")
            return False
        self.store.transition(priority.id, Phase.BLOCKED, reason=check.message) if state and state.phase in (
            Phase.RETRY, Phase.PLANNED) else None
        return False

    # ------------------------------------------------------------------ pull requests

    def _until_next_poll(self) -> float:
        return max(0.0, self._last_poll + self.loaded.config.daemon.poll_interval_s - time.monotonic())

    def poll_pull_requests(self, *, force: bool = False) -> None:
        """Merged → done; closed → blocked; changes requested → the agent fixes it."""
        if not force and time.monotonic() - self._last_poll < self.loaded.config.daemon.poll_interval_s:
            return
        self._last_poll = time.monotonic()
        try:
            self.services.git.fetch()
        except CoffeeMakerError as exc:
            log.warning("fetch failed", error=exc.message)
        for state in self.store.all():
            if state.phase is not Phase.PR_OPEN or not state.branch:
                continue
            try:
                pr = self.services.forge.find(state.branch)
            except CoffeeMakerError as exc:
                log.warning("could not read PR state", priority=state.priority, error=exc.message)
                continue
            if pr is None:
                continue
            if pr.state is PRState.MERGED:
                self.store.transition(state.priority, Phase.MERGED)
                self.store.transition(state.priority, Phase.DONE)
                log.info("pull request merged", priority=state.priority, pr=pr.url)
            elif pr.state is PRState.CLOSED:
                self.store.transition(state.priority, Phase.CLOSED)
                self.store.transition(state.priority, Phase.BLOCKED, reason="its pull request was closed without merge")
                self.services.notifier.inform(f"{state.priority}: PR #{pr.number} was closed without merge; "
                                              "the priority is blocked.", priority=state.priority, kind="blocked")
            elif pr.review_decision == "changes_requested":
                self._address_feedback(state.priority, pr)

    def _address_feedback(self, pid: str, pr: Any) -> None:
        handled = self.services.extra.get("address_feedback")
        if callable(handled):
            handled(pid, pr)
