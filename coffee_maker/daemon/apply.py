"""Doing what the failure policy decided: transitions, notices, live status, the dev log, sleeps.

``daemon/policy.py`` decides; this module is the only one that acts on a decision. It also
keeps what the policy needs to remember between attempts: the rate limits in a row per
priority, until when the fallback agent is in use, which pause notices were told, and
whether the daily budget is spent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import structlog

from coffee_maker.agent.auth import auth_advice
from coffee_maker.config import Config
from coffee_maker.daemon.attempt import AttemptRunner
from coffee_maker.daemon.budget import BudgetGuard
from coffee_maker.daemon.devlog import write_devlog
from coffee_maker.daemon.exits import Exit
from coffee_maker.daemon.policy import (
    Action,
    Block,
    Done,
    Fallback,
    Leave,
    Pause,
    Retry,
    StopForAuth,
    StopForBudget,
    clock,
    decide,
    next_streak,
    over_budget,
)
from coffee_maker.daemon.record import AttemptResult
from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.daemon.status import StatusBoard
from coffee_maker.errors import AgentAuthError, CoffeeMakerError
from coffee_maker.notify.channels import Notifier
from coffee_maker.types import Priority

log = structlog.get_logger(__name__)


class Applier:
    def __init__(self, config: Config, notifier: Notifier, store: StateStore, status: StatusBoard, *,
                 sleep: Callable[[float], None]) -> None:
        self.config = config
        self.notifier = notifier
        self.store = store
        self.status = status
        self.sleep = sleep
        #: Rate limits / overloads in a row per priority: each wait doubles the one before.
        self.streaks: dict[str, int] = {}
        #: While the main agent is limited (wall-clock time until its reset), attempts use the fallback.
        self.fallback_until = 0.0
        self.told: set[str] = set()
        #: Backend → until when a limit pauses it: lanes share the account, so no new lane starts on it.
        self.paused_backends: dict[str, float] = {}
        self.daily_budget_hit = False
        self.budget = BudgetGuard(
            config.daemon, priority_cost=lambda pid: (s.cost_usd if (s := store.get(pid)) else 0.0),
            day_cost=store.day_cost,
            inform=lambda message, pid: notifier.inform(message, priority=pid, kind="budget"))

    def backend(self) -> str | None:
        """The fallback backend while the main one is limited, else None (the configured one)."""
        return self.config.daemon.fallback_backend if self.fallback_active() else None

    def fallback_active(self) -> bool:
        return time.time() < self.fallback_until

    def backend_paused_until(self) -> float | None:
        """Until when the backend new attempts would use (``backend()``) is paused for a limit, or None."""
        until = self.paused_backends.get(self.backend() or self.config.agent.backend, 0.0)
        return until if until > time.time() else None

    def decide(self, priority: Priority, exit: Exit, attempt: int) -> Action:
        """The policy's decision for this exit; the limit streak moves on with it."""
        streak = self.streaks.get(priority.id, 0)
        action = decide(self.store.get(priority.id), exit, self.config.daemon, priority=priority.id,
                        attempt=attempt, now=time.time(), streak=streak, fallback_active=self.fallback_active())
        if streak := next_streak(exit, streak):
            self.streaks[priority.id] = streak
        else:
            self.streaks.pop(priority.id, None)  # the limit lifted (or something else happened)
        return action

    def within_budget(self, priority: Priority) -> bool:
        """Before an attempt starts: a hard cap stops it (told once), a soft cap is told once and work goes on."""
        stop = self.budget.hard_stop(priority.id)
        if stop is None:
            self.daily_budget_hit = False
            return True
        self.apply(priority, over_budget(self.store.get(priority.id), stop.daily, stop.message), None)
        return False

    def apply(self, priority: Priority, action: Action, runner: AttemptRunner | None) -> None:
        """Do it. ``runner`` is the attempt's (None before one started). Raises AgentAuthError to end the run."""
        pid = priority.id
        match action:
            case Done(outcome=outcome):
                self.status.outcome(pid, outcome)
            case Leave():
                log.info("attempt interrupted by shutdown; it resumes on the next start", priority=pid)
            case Retry():
                self._log_failure(pid, action.attempt, action.reason)
                self._devlog_failure(pid, runner, action.reason)
                self.store.transition(pid, Phase.RETRY, attempt=action.attempt, reason=action.reason,
                                      detail=action.reason)
                log.info("retrying later", priority=pid, attempt=action.attempt, retry_at=clock(action.at))
                self.status.outcome(pid, action.summary)
            case Block():
                self._log_failure(pid, action.attempt, action.reason)
                self._block(priority, action, runner)
            case Pause():
                self.paused_backends[(runner.backend if runner else None) or self.config.agent.backend] = action.until
                self._pause(pid, action)
            case Fallback():
                self.fallback_until = action.until
                self.notifier.inform(action.notice, priority=pid, kind="fallback")
                log.info("switching to the fallback agent", priority=pid, backend=action.backend,
                         seconds=round(action.wait_s))
            case StopForBudget():
                self._stop_for_budget(pid, action)
            case StopForAuth():
                self._stop_for_auth(pid, action, runner.backend if runner else None)

    def _log_failure(self, pid: str, attempt: int, reason: str) -> None:
        log.warning("attempt failed", priority=pid, attempt=f"{attempt} of {self.config.daemon.max_attempts}",
                    reason=reason)

    def _devlog_failure(self, pid: str, runner: AttemptRunner | None, reason: str) -> None:
        record = runner.last_record if runner else None
        state = self.store.get(pid)
        if record is not None and state is not None and state.workspace and self.config.daemon.devlogs:
            record.result, record.reason, record.ended_at = AttemptResult.FAILED, reason, time.time()
            write_devlog(Path(state.workspace), record)

    def _block(self, priority: Priority, block: Block, runner: AttemptRunner | None) -> None:
        if runner is not None:
            try:
                runner.mark_blocked_on_branch(priority, block.reason, block.attempt, secrets=block.secrets)
            except CoffeeMakerError as exc:
                log.warning("could not record the blocked status on the branch", error=exc.message)
        self.store.transition(priority.id, Phase.BLOCKED, attempt=block.attempt, reason=block.reason,
                              detail=block.reason)
        self.notifier.inform(block.notice, priority=priority.id, kind="blocked")
        self.status.outcome(priority.id, "blocked")

    def _pause(self, pid: str, pause: Pause) -> None:
        if pause.notice_key not in self.told:
            self.told.add(pause.notice_key)
            self.notifier.inform(pause.notice, priority=pid, kind="paused")
        self.status.paused(pid, until=pause.until, why=pause.waiting_for, limit=pause.kind.value)
        log.info("paused for a limit", priority=pid, limit=pause.kind.value, wait_s=round(pause.wait_s, 2),
                 consecutive=self.streaks.get(pid, 1), until=clock(pause.until))
        self.sleep(pause.wait_s)

    def _stop_for_budget(self, pid: str, stop: StopForBudget) -> None:
        if stop.daily:
            self.daily_budget_hit = True
            self.status.paused_for_the_day()
            return
        if stop.block:
            self.store.transition(pid, Phase.BLOCKED, reason=stop.message, extra={"budget": True},
                                  detail="hard budget cap")
        self.status.outcome(pid, "blocked by its hard budget cap")

    def _stop_for_auth(self, pid: str, stop: StopForAuth, backend: str | None) -> None:
        """Tell the person how to log in, release the priority (no attempt lost), end the run."""
        settings = self.config.agent
        message = (f"The coding agent cannot authenticate ({stop.reason}). "
                   f"{auth_advice(settings, backend=backend or settings.backend)} Then start coffee-maker again.")
        log.error("agent authentication failed", priority=pid, reason=stop.reason)
        self.notifier.inform(message, priority=pid, kind="error")
        if stop.release_to_attempt is not None:
            self.store.transition(pid, Phase.RETRY, attempt=stop.release_to_attempt,
                                  reason="the agent could not authenticate", detail="agent authentication failed")
        self.status.outcome(pid, "agent authentication failed")
        raise AgentAuthError(message)
