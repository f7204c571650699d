"""What happens after an attempt ends: retry later, block, pause for a usage limit, stop at a budget cap.

The Daemon mixes this in; it decides from the state, the exit and the settings, and the
loop applies the decision. Every block and cap is told to the person once, with what to do.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import structlog

from coffee_maker.agent.auth import auth_advice
from coffee_maker.config import LoadedConfig
from coffee_maker.daemon.attempt import AgentPaused, AttemptRunner
from coffee_maker.daemon.budget import BudgetExhausted, BudgetGuard
from coffee_maker.daemon.devlog import write_devlog
from coffee_maker.daemon.limits import SHORT_LIVED, limit_wait
from coffee_maker.daemon.ports import Services
from coffee_maker.daemon.state import (
    ACTIVE,
    FINISHED,
    IN_REVIEW,
    Phase,
    StateStore,
    retry_delay,
    unblock_hint,
)
from coffee_maker.errors import AgentAuthError, CoffeeMakerError
from coffee_maker.notify.channels import in_words
from coffee_maker.types import Priority
from coffee_maker.words import count

log = structlog.get_logger(__name__)


def clock(epoch: float) -> str:
    """A wall-clock time as a person reads it in a log line or `status`."""
    return time.strftime("%H:%M:%S", time.localtime(epoch))


class FailurePolicy:
    """The failure side of the Daemon (its attributes are set by Daemon.__init__)."""

    loaded: LoadedConfig
    services: Services
    store: StateStore
    stopping: threading.Event
    budget: BudgetGuard
    fallback_until: float
    _paused_notified: set[str]
    _limit_streak: dict[str, int]
    _daily_budget_hit: bool

    def sleep(self, seconds: float) -> None:
        raise NotImplementedError

    def _fail(self, priority: Priority, runner: AttemptRunner, reason: str, attempt: int, *, secrets: bool) -> str:
        """Retry, or block after ``max_attempts``: never loop forever on one priority.

        ``attempt`` is this attempt's number even when it failed before its branch was recorded
        (a worktree that could not be made), so such failures count towards the limit too.
        """
        state = self.store.get(priority.id)
        if self.stopping.is_set():
            log.info("attempt interrupted by shutdown; it resumes on the next start", priority=priority.id)
            return "interrupted"
        max_attempts = self.loaded.config.daemon.max_attempts
        log.warning("attempt failed", priority=priority.id, attempt=f"{attempt} of {max_attempts}", reason=reason)
        if attempt >= max_attempts:
            try:
                runner.mark_blocked_on_branch(priority, reason, attempt, secrets=secrets)
            except CoffeeMakerError as exc:
                log.warning("could not record the blocked status on the branch", error=exc.message)
            self.store.transition(priority.id, Phase.BLOCKED, attempt=attempt, reason=reason, detail=reason)
            self.services.notifier.inform(
                f"{priority.id} is blocked after {count(attempt, 'failed attempt')}: {reason}\n"
                f"Fix the cause. {unblock_hint(priority.id)}", priority=priority.id, kind="blocked")
            self.store.set_info(last_outcome=f"{priority.id}: blocked")
            return "blocked"
        record = runner.last_record
        if record is not None and state is not None and state.workspace and self.loaded.config.daemon.devlogs:
            record.result, record.reason, record.ended_at = "failed", reason, time.time()
            write_devlog(Path(state.workspace), record)
        self.store.transition(priority.id, Phase.RETRY, attempt=attempt, reason=reason, detail=reason)
        due = time.time() + retry_delay(self.loaded.config.daemon.retry_delay_s, attempt)
        log.info("retrying later", priority=priority.id, attempt=attempt, retry_at=clock(due))
        self.store.set_info(last_outcome=f"{priority.id}: attempt {attempt} of {max_attempts} failed; "
                                         f"next attempt at {clock(due)}. {reason}")
        return "failed"

    def _backend(self) -> str | None:
        """The fallback backend while the main one is limited, else None (the configured one)."""
        return self.loaded.config.daemon.fallback_backend if time.time() < self.fallback_until else None

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

    def _pause_for_limit(self, priority: Priority, paused: AgentPaused) -> None:
        outcome = paused.outcome
        cfg = self.loaded.config.daemon
        streak = self._limit_streak.get(priority.id, 0)
        wait = limit_wait(outcome, streak, start_s=cfg.rate_limit_backoff_start_s, ceiling_s=cfg.usage_limit_backoff_s)
        self._limit_streak[priority.id] = streak + 1
        fallback = cfg.fallback_backend
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
                f"resuming the same priority at {clock(time.time() + wait)} (in {in_words(wait)})"
                + (f", then at doubling intervals up to {in_words(cfg.usage_limit_backoff_s)} until it lifts."
                   if outcome.kind in SHORT_LIVED and outcome.reset_at is None else "."),
                priority=priority.id, kind="paused")
        self.store.set_info(phase="paused", paused_until=time.time() + wait, last_outcome=f"{priority.id}: {outcome.kind.value}",
                            waiting_for=f"the agent's {outcome.kind.value.replace('_', ' ')} to reset at "
                                        f"{clock(time.time() + wait)}")
        log.info("paused for a limit", priority=priority.id, limit=outcome.kind.value, wait_s=round(wait, 2),
                 consecutive=streak + 1, until=clock(time.time() + wait))
        self.sleep(wait)

    def _within_budget(self, priority: Priority) -> bool:
        """Before an attempt starts: a hard cap stops it (told once), a soft cap is told once and work goes on."""
        try:
            self.budget.before_session(priority.id)
        except BudgetExhausted as exc:
            self._stop_for_budget(priority, exc)
            return False
        self._daily_budget_hit = False
        return True

    def _stop_for_budget(self, priority: Priority, exc: BudgetExhausted) -> None:
        if exc.daily:
            self._daily_budget_hit = True
            self.store.set_info(phase="paused", last_outcome="daily budget reached")
            return
        state = self.store.get(priority.id)
        if state is None or state.phase not in (Phase.BLOCKED, *IN_REVIEW, *FINISHED):
            self.store.transition(priority.id, Phase.BLOCKED, reason=exc.message, extra={"budget": True},
                                  detail="hard budget cap")
        self.store.set_info(last_outcome=f"{priority.id}: blocked by its hard budget cap")
