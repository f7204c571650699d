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
from pathlib import Path
from typing import Any

import structlog

from coffee_maker.agent.auth import auth_advice
from coffee_maker.config import LoadedConfig
from coffee_maker.daemon.attempt import AgentAuthFailed, AgentPaused, AttemptFailed, AttemptRunner
from coffee_maker.daemon.budget import BudgetVerdict, check_budget
from coffee_maker.daemon.devlog import write_devlog
from coffee_maker.daemon.limits import SHORT_LIVED, limit_wait
from coffee_maker.daemon.null_trace import NullTracer
from coffee_maker.daemon.ports import Agent, Services
from coffee_maker.daemon.progress import Progress
from coffee_maker.daemon.state import (
    ACTIVE,
    FINISHED,
    IN_REVIEW,
    Phase,
    PriorityState,
    StateStore,
    unblock_hint,
)
from coffee_maker.errors import AgentAuthError, CoffeeMakerError
from coffee_maker.notify.channels import in_words
from coffee_maker.observe.context import set_phase
from coffee_maker.types import Priority, PRState, PullRequest, RoadmapWarning, Status

log = structlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True)
class RoadmapView:
    """The parsed roadmap as the daemon uses it."""

    priorities: tuple[Priority, ...]
    guidelines: list[tuple[str, str]]
    warnings: tuple[RoadmapWarning, ...] = ()  # the planner holds back a priority a roadmap error touches

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
        #: Rate limits / overloads in a row per priority: each wait doubles the one before.
        self._limit_streak: dict[str, int] = {}
        self._last_poll = 0.0
        self.current_agent: Agent | None = None
        #: While the main agent is limited (wall-clock time until its reset), attempts use the fallback.
        self.fallback_until = 0.0

    # ------------------------------------------------------------------ control

    def request_stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        # A question waiting for a person stays pending in the inbox for the next run.
        escalation_stop = getattr(self.services.notifier, "stop", None)
        if isinstance(escalation_stop, threading.Event):
            escalation_stop.set()
        agent = self.current_agent
        if agent is not None:
            try:
                agent.stop()
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
            # Cleared before the step reads the roadmap, so a change that lands during the step
            # still ends the idle wait below (clearing after the step lost such a wake-up).
            self.wake.clear()
            self.poll_pull_requests(force=once)
            did_work = self.step(only=only)
            if once and (did_work or only):
                return 0
            if once and not did_work:
                log.info("nothing to do")
                return 0
            if not did_work:
                self.store.set_info(phase="idle", current=None)
                self.sleep(self._until_next_poll())
        return 0

    def step(self, *, only: str | None = None) -> bool:
        """One unit of work. Returns False when there was nothing to do."""
        if self.store.info().get("paused_by"):  # paused by a person (the web page): start nothing new
            return False
        view = self.read_roadmap()
        priority = self._resumable(view) if only is None else view.get(only)
        if only is not None and priority is None:
            raise CoffeeMakerError(f"{only} is not a priority in the roadmap.")
        if priority is None:
            # A retry that is not due yet waits like a blocked one; so do the priorities depending on it.
            priority = self.pick(self._effective(view), self.store.ids_in(IN_REVIEW),
                                 self.store.ids_in({Phase.BLOCKED}) | self._retries_waiting())
        if priority is None:
            return False
        if not self._within_budget(priority):
            return False
        self._attempt(priority, view)
        return True

    def _resumable(self, view: RoadmapView) -> Priority | None:
        """A priority left mid-way (crash, usage limit, a retry now due) goes before anything new."""
        now = time.time()
        for state in self.store.in_phases(ACTIVE | {Phase.RETRY}):
            if state.phase is not Phase.RETRY or self._retry_due(state) <= now:
                priority = view.get(state.priority)
                if priority is not None:
                    return priority
                log.warning("priority in progress is no longer in the roadmap", priority=state.priority)
        return None

    def _retry_delay(self, failed_attempt: int) -> float:
        """The wait after a failed attempt: it doubles with each failure."""
        return float(self.loaded.config.daemon.retry_delay_s * 2 ** max(0, failed_attempt - 1))

    def _retry_due(self, state: PriorityState) -> float:
        """When a priority in retry may be tried again."""
        return state.updated_at + self._retry_delay(state.attempt)

    def _retries_waiting(self) -> frozenset[str]:
        now = time.time()
        return frozenset(s.priority for s in self.store.in_phases({Phase.RETRY}) if self._retry_due(s) > now)

    def _effective(self, view: RoadmapView) -> RoadmapView:
        """Merged work counts as complete even before the person pulls the roadmap change."""
        finished = self.store.ids_in(FINISHED)
        return dataclasses.replace(view, priorities=tuple(
            dataclasses.replace(p, status=Status.COMPLETE) if p.id in finished else p for p in view.priorities
        ))

    def _attempt(self, priority: Priority, view: RoadmapView, *, feedback: str | None = None) -> None:
        runner = AttemptRunner(self.loaded, self.services, self.store, guidelines=view.guidelines,
                               on_progress=self._on_progress, on_agent=self._set_agent, backend=self._backend())
        before = self.store.get(priority.id)
        attempt_no = (before.attempt if before and before.phase not in (Phase.PLANNED, Phase.RETRY) else
                      (before.attempt + 1 if before else 1))
        self.progress.start(priority.id)
        self.store.set_info(current=priority.id, phase="working", started=time.time())
        log.info("working on priority", priority=priority.id, title=priority.title, attempt=attempt_no)
        telemetry_id = self._telemetry("start_attempt", priority.id, attempt_no, before.branch if before else None)
        outcome = "error"
        tracer = self.services.tracer or NullTracer()
        try:
            with tracer.attempt(priority.id, attempt=attempt_no, branch=before.branch if before else None) as trace:
                state = runner.advance(priority, trace=trace, feedback=feedback)
            outcome = "pr_open" if state.phase is Phase.PR_OPEN else state.phase.value
            self.store.set_info(last_outcome=f"{priority.id}: {outcome}")
        except AgentPaused as paused:
            outcome = paused.outcome.kind.value
            self._pause_for_limit(priority, paused)
        except AgentAuthFailed as exc:
            outcome = "auth_failed"
            self._auth_failed(priority, runner, str(exc))
        except AttemptFailed as failed:
            outcome = self._fail(priority, runner, failed.reason, attempt_no, secrets=failed.secrets)
        except CoffeeMakerError as exc:  # git / forge / agent start-up errors: a failed attempt, not a crash
            outcome = self._fail(priority, runner, exc.message, attempt_no, secrets=False)
        finally:
            if outcome not in {kind.value for kind in SHORT_LIVED}:
                self._limit_streak.pop(priority.id, None)  # the limit lifted (or something else happened)
            self.progress.finish()
            self.store.set_info(current=None, phase="idle")
            record = runner.last_record
            if telemetry_id is not None:
                self._telemetry("finish_attempt", telemetry_id, outcome=outcome,
                                cost_usd=record.cost_usd if record else 0.0,
                                input_tokens=_tokens(record, "input_tokens"), output_tokens=_tokens(record, "output_tokens"),
                                turns=record.turns if record else 0)
            after = self.store.get(priority.id)
            if after and after.pr_url and after.pr_number is not None:
                self._telemetry("record_pull_request", priority.id, after.pr_number, after.pr_url, after.phase.value)

    def _on_progress(self, *, phase: str | None = None, turns: int | None = None, cost: float | None = None) -> None:
        """The terminal status line, the log context (every line says its phase) and `status`."""
        self.progress.update(phase=phase, turns=turns, cost=cost)
        if phase is not None:
            set_phase(phase)
            self.store.set_info(phase=phase)

    def _set_agent(self, agent: Agent | None) -> None:
        self.current_agent = agent
        if agent is not None and self.stopping.is_set():
            agent.stop()

    def _telemetry(self, method: str, *args: Any, **kwargs: Any) -> Any:
        target = getattr(self.services.telemetry, method, None)
        if not callable(target):
            return None
        try:
            return target(*args, **kwargs)
        except Exception:  # noqa: BLE001 — numbers must never stop the work
            log.warning("telemetry write failed", method=method, exc_info=True)
            return None

    # ------------------------------------------------------------------ failure policy

    def _fail(self, priority: Priority, runner: AttemptRunner, reason: str, attempt: int, *, secrets: bool) -> str:
        """Retry, or block after ``max_attempts``: never loop forever on one priority.

        ``attempt`` is this attempt's number even when it failed before its branch was recorded
        (a worktree that could not be made), so such failures count towards the limit too.
        """
        state = self.store.get(priority.id)
        if self.stopping.is_set():
            log.info("attempt interrupted by shutdown; it resumes on the next start", priority=priority.id)
            return "interrupted"
        log.warning("attempt failed", priority=priority.id, attempt=attempt, reason=reason)
        blocked = attempt >= self.loaded.config.daemon.max_attempts
        if blocked:
            try:
                runner.mark_blocked_on_branch(priority, reason, attempt, secrets=secrets)
            except CoffeeMakerError as exc:
                log.warning("could not record the blocked status on the branch", error=exc.message)
            self.store.transition(priority.id, Phase.BLOCKED, attempt=attempt, reason=reason, detail=reason)
            self.services.notifier.inform(
                f"{priority.id} is blocked after {attempt} failed attempts: {reason}. {unblock_hint(priority.id)}",
                priority=priority.id,
                kind="blocked")
            self.store.set_info(last_outcome=f"{priority.id}: blocked")
            return "blocked"
        record = runner.last_record
        if record is not None and state is not None and state.workspace and self.loaded.config.daemon.devlogs:
            record.result, record.reason, record.ended_at = "failed", reason, time.time()
            write_devlog(Path(state.workspace), record)
        self.store.transition(priority.id, Phase.RETRY, attempt=attempt, reason=reason, detail=reason)
        retry_in = self._retry_delay(attempt)
        log.info("retrying later", priority=priority.id, attempt=attempt, retry_in_s=round(retry_in))
        self.store.set_info(last_outcome=f"{priority.id}: attempt {attempt} failed, retrying in {retry_in:.0f} s")
        return "failed"

    def _auth_failed(self, priority: Priority, runner: AttemptRunner, reason: str) -> None:
        """Log it as an error, tell the person how to fix it, release the priority, stop with AgentAuthError.

        The priority waits as a retry that does not count as a failed attempt: nothing the agent did failed.
        """
        settings = self.loaded.config.agent
        message = (f"The coding agent cannot authenticate ({reason}). "
                   f"{auth_advice(settings, backend=runner.backend or settings.backend)} Then start coffee-maker again.")
        log.error("agent authentication failed", priority=priority.id, reason=reason)
        self.services.notifier.inform(message, priority=priority.id, kind="error")
        state = self.store.get(priority.id)
        if state is not None and state.phase in ACTIVE | {Phase.PR_OPEN}:
            self.store.transition(priority.id, Phase.RETRY, attempt=max(0, state.attempt - 1),
                                  reason="the agent could not authenticate", detail="agent authentication failed")
        self.store.set_info(last_outcome=f"{priority.id}: agent authentication failed")
        raise AgentAuthError(message)

    def _backend(self) -> str | None:
        """The fallback backend while the main one is limited, else None (the configured one)."""
        return self.loaded.config.daemon.fallback_backend if time.time() < self.fallback_until else None

    def _pause_for_limit(self, priority: Priority, paused: AgentPaused) -> None:
        outcome = paused.outcome
        cfg = self.loaded.config.daemon
        streak = self._limit_streak.get(priority.id, 0)
        wait = limit_wait(outcome, streak, start_s=cfg.rate_limit_backoff_start_s, ceiling_s=cfg.usage_limit_backoff_s)
        self._limit_streak[priority.id] = streak + 1
        fallback = self.loaded.config.daemon.fallback_backend
        if fallback and self._backend() is None:
            self.fallback_until = time.time() + wait
            self.services.notifier.inform(
                f"The agent hit a {outcome.kind.value.replace('_', ' ')} on {priority.id}; continuing with the "
                f"{fallback} agent for {in_words(wait)}.", priority=priority.id, kind="fallback")
            log.info("switching to the fallback agent", priority=priority.id, backend=fallback, seconds=round(wait))
            return
        key = f"{priority.id}:{outcome.kind.value}"
        if key not in self._paused_notified:
            self._paused_notified.add(key)
            self.services.notifier.inform(
                f"The agent hit a {outcome.kind.value.replace('_', ' ')} on {priority.id}; "
                f"resuming the same priority in {in_words(wait)}"
                + (f", then at doubling intervals up to {in_words(cfg.usage_limit_backoff_s)} until it lifts."
                   if outcome.kind in SHORT_LIVED and outcome.reset_at is None else "."),
                priority=priority.id, kind="paused")
        self.store.set_info(phase="paused", paused_until=time.time() + wait, last_outcome=f"{priority.id}: {outcome.kind.value}")
        log.info("paused for a limit", priority=priority.id, limit=outcome.kind.value, wait_s=round(wait, 2),
                 consecutive=streak + 1)
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
        """Idle until the next fetch of the remote, or the next retry that falls due, if sooner."""
        until = self._last_poll + self.loaded.config.daemon.poll_interval_s - time.monotonic()
        now = time.time()
        # Only retries still to come: one already due but not taken (over budget, gone from the roadmap)
        # must not turn the idle wait into a busy loop.
        upcoming = [due - now for due in map(self._retry_due, self.store.in_phases({Phase.RETRY})) if due > now]
        return max(0.0, min([until, *upcoming]))

    def poll_pull_requests(self, *, force: bool = False) -> None:
        """Merged → done; closed → blocked; changes requested → the agent fixes it."""
        if not force and time.monotonic() - self._last_poll < self.loaded.config.daemon.poll_interval_s:
            return
        self._last_poll = time.monotonic()
        try:
            self.services.git.fetch()
        except CoffeeMakerError as exc:
            log.warning("fetch failed", error=exc.message)
        for state in self.store.in_phases(IN_REVIEW):
            if not state.branch:
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
                                              f"the priority is blocked. {unblock_hint(state.priority)}",
                                              priority=state.priority, kind="blocked")
            elif pr.review_decision == "changes_requested":
                self._address_feedback(state.priority, pr)

    def _address_feedback(self, pid: str, pr: PullRequest) -> None:
        """Resume the agent on the PR's branch with review comments it has not seen yet."""
        comments = self.services.forge.feedback(pr)
        state = self.store.get(pid)
        seen = int(state.extra.get("feedback_seen", 0)) if state else 0
        fresh = comments[seen:]
        if not fresh:
            return
        view = self.read_roadmap()
        priority = view.get(pid)
        if priority is None:
            return
        self.store.update(pid, extra={"feedback_seen": len(comments)})
        feedback = "Reviewers asked for changes on the pull request:\n\n" + "\n\n".join(f"- {c}" for c in fresh)
        log.info("addressing review feedback", priority=pid, comments=len(fresh))
        self._attempt(priority, view, feedback=feedback)


def _tokens(record: Any, key: str) -> int:
    if record is None or record.outcome is None:
        return 0
    value = record.outcome.usage.get(key, 0)
    return int(value) if isinstance(value, (int, float)) else 0
