"""The always-running loop: pick → check → advance → handle failure → watch PRs → idle.

Only this module (through ``wiring``) knows all the stages. Failure policy lives
here: a failed attempt is retried up to ``max_attempts`` and then blocked (never
loops forever); a usage limit sleeps until the reset and resumes the same
priority; a closed PR blocks its priority; review comments resume the agent.
What a person can fix while the daemon runs (a roadmap being rewritten, an unpushed
roadmap, an empty remote, a forge error) is logged once and waited out, never fatal.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import structlog

from coffee_maker.config import LoadedConfig
from coffee_maker.daemon.attempt import AgentAuthFailed, AgentPaused, AttemptFailed, AttemptRunner
from coffee_maker.daemon.budget import BudgetExhausted, BudgetGuard
from coffee_maker.daemon.limits import SHORT_LIVED
from coffee_maker.daemon.null_trace import NullTracer
from coffee_maker.daemon.planning import (
    Picker,
    RoadmapView,
    effective,
    next_work,
    resumable,
)
from coffee_maker.daemon.policy import FailurePolicy, clock
from coffee_maker.daemon.ports import Agent, Services
from coffee_maker.daemon.progress import Progress
from coffee_maker.daemon.reviews import PullRequestPoller
from coffee_maker.daemon.state import FINISHED, IN_REVIEW, Phase, StateStore
from coffee_maker.daemon.waiting import Announcer
from coffee_maker.errors import CoffeeMakerError, ExitCode, UsageError
from coffee_maker.observe.context import set_phase
from coffee_maker.roadmap import explain
from coffee_maker.roadmap.model import Roadmap
from coffee_maker.types import Priority, PullRequest

log = structlog.get_logger(__name__)

__all__ = ["Daemon", "NotReady", "RoadmapView"]


#: The longest `run --once` waits for a retry of its priority before it ends, saying when the retry is due.
ONCE_MAX_WAIT_S = 600.0


#: How soon a daemon waiting for a fix looks again, when no roadmap change wakes it first.
PROBLEM_RECHECK_S = 15.0


class NotReady(CoffeeMakerError):
    """The repository is not ready for an attempt (no commits, an empty remote, an unpushed roadmap)."""


class Daemon(FailurePolicy):
    def __init__(
        self, loaded: LoadedConfig, services: Services, store: StateStore, *,
        read_roadmap: Callable[[], RoadmapView],
        pick: Picker,
        progress: Progress | None = None,
        wake: threading.Event | None = None,
        sleep: Callable[[float], None] | None = None,
        check_ready: Callable[[Priority], str | None] | None = None,
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
        self.current_agent: Agent | None = None
        #: While the main agent is limited (wall-clock time until its reset), attempts use the fallback.
        self.fallback_until = 0.0
        #: Why run() must end (the agent cannot authenticate): its exit code.
        self.exit_code: int | None = None
        self.last_priority: str | None = None
        self._view: RoadmapView | None = None  # the roadmap as last read, to say why the daemon is idle
        self.check_ready = check_ready or (lambda _priority: None)
        self.announce = Announcer(store)
        self.budget = BudgetGuard(
            loaded.config.daemon, priority_cost=lambda pid: (s.cost_usd if (s := store.get(pid)) else 0.0),
            day_cost=store.day_cost,
            inform=lambda message, pid: services.notifier.inform(message, priority=pid, kind="budget"))
        self._daily_budget_hit = False
        self.reviews = PullRequestPoller(store, services, interval_s=loaded.config.daemon.poll_interval_s,
                                         on_feedback=self._address_feedback)

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
        # The loop clears ``wake`` at the top of each turn: a stop requested after its check but
        # before that clear would be lost without this look (request_stop sets ``stopping`` first).
        if self.stopping.is_set() or self.leave.is_set():
            return
        self.wake.wait(timeout=max(0.0, seconds))

    # ------------------------------------------------------------------ the loop

    def run(self, *, once: bool = False, only: str | None = None) -> int:
        """Work until stopped; with ``once``, until one priority reached a PR or its end (see ExitCode)."""
        target = only
        first = True
        while not self.stopping.is_set() and not self.leave.is_set():
            self.store.set_info(heartbeat=time.time())
            # Cleared before the step reads the roadmap, so a change that lands during the step
            # still ends the idle wait below (clearing after the step lost such a wake-up).
            self.wake.clear()
            try:
                self.reviews.poll(force=once and first)
                did_work = self.step(only=target, once=once)
            except CoffeeMakerError as exc:
                if exc.exit_code == ExitCode.AUTH_FAILED:
                    raise  # nothing works until a person logs in: waiting would only hide it
                if once:  # a person is watching this one run: tell them and end
                    log.debug("cannot work on the roadmap", problem=exc.message)  # the CLI prints it
                    raise
                self.announce.problem(exc.message)
                # A fix may not touch the checkout (a push, a finished rebase): look again soon.
                self.sleep(min(self._until_next_poll(), PROBLEM_RECHECK_S))
                continue
            first = False
            if self.exit_code is not None:
                return self.exit_code
            if once:
                target = target or self.last_priority
                code = self._once_result(target)
                if code is not None:
                    return code
                continue
            if not did_work:
                self.announce.idle(self._idle_reason())
                self.sleep(self._until_next_poll())
        return self.exit_code or ExitCode.OK

    def step(self, *, only: str | None = None, once: bool = False) -> bool:
        """One unit of work. Returns False when there was nothing to do (now)."""
        if self.store.info().get("paused_by"):  # paused by a person (the web page): start nothing new
            return False
        view = self._view = self.read_roadmap()
        if only is not None:
            priority = view.get(only)
            if priority is None:
                raise UsageError(f"{only} is not a priority in the roadmap (`coffee-maker roadmap list` shows them).")
            state = self.store.get(only)
            if state is not None and (state.phase in IN_REVIEW | FINISHED | {Phase.BLOCKED} or (
                    state.phase is Phase.RETRY and state.retry_due(self.loaded.config.daemon.retry_delay_s) > time.time())):
                return False
        else:
            priority = next_work(view, self.store, pick=self.pick,
                                 retry_delay_s=self.loaded.config.daemon.retry_delay_s).priority
        if priority is None:
            self.announce.resolved()
            return False
        problem = self.check_ready(priority)
        if problem is not None:
            raise NotReady(problem)
        self.announce.resolved()
        if not self._within_budget(priority):
            return False
        self._attempt(priority, view)
        return True

    def _once_result(self, pid: str | None) -> int | None:
        """`run --once`: the exit code once its priority reached an end, else None (after waiting for a retry)."""
        if self._daily_budget_hit:
            return ExitCode.BUDGET
        state = self.store.get(pid) if pid else None
        if state is None:
            upcoming = [due for due in self._retry_times() if due > time.time()]
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
            return self._wait_for_retry(state.priority, state.retry_due(self.loaded.config.daemon.retry_delay_s))
        return None  # left mid-way (a usage limit slept out, an interruption): the next step resumes it

    def _wait_for_retry(self, pid: str | None, due: float) -> int | None:
        """`run --once` waits for a retry due within ONCE_MAX_WAIT_S; a later one is named, and the run ends."""
        wait = due - time.time()
        if wait > ONCE_MAX_WAIT_S:
            log.error(f"{pid or 'a priority'} failed; its next attempt is due at {clock(due)}: run again then, "
                      "or leave `coffee-maker run` running", priority=pid)
            return ExitCode.FAILED
        if wait > 0:
            log.info(f"waiting for the next attempt of {pid or 'a priority'} at {clock(due)} (Ctrl-C to stop)",
                     max_attempts=self.loaded.config.daemon.max_attempts)
            self.store.set_info(phase="idle", waiting_for=f"a retry of {pid or 'a priority'} at {clock(due)}")
            self.sleep(wait)
        return None

    def _retry_times(self) -> list[float]:
        delay = self.loaded.config.daemon.retry_delay_s
        return [s.retry_due(delay) for s in self.store.in_phases({Phase.RETRY})]

    def _idle_reason(self) -> str:
        """What an idle daemon waits for, in words (said once per change)."""
        now = time.time()
        if self._daily_budget_hit:
            return "the daily budget to reset tomorrow (daily_hard_cap_usd)"
        upcoming = sorted((s.retry_due(self.loaded.config.daemon.retry_delay_s), s.priority)
                          for s in self.store.in_phases({Phase.RETRY}))
        upcoming = [(due, pid) for due, pid in upcoming if due > now]
        if upcoming:
            return f"a retry of {upcoming[0][1]} at {clock(upcoming[0][0])}"
        review = [s for s in self.store.in_phases(IN_REVIEW) if s.pr_number is not None]
        if review:
            return "review of " + ", ".join(f"PR #{s.pr_number} ({s.priority})" for s in review[:5])
        view = self._view
        if view is not None:  # say why nothing planned is ready: a dependency not done, a blocked one, a cycle
            skipped = explain(Roadmap(effective(view, self.store).priorities, ()),
                              in_review=self.store.ids_in(IN_REVIEW), blocked=self.store.ids_in({Phase.BLOCKED}))[1]
            waits = [s for s in skipped if s.reason.startswith("waits for")]
            if waits:
                return f"a roadmap change ({waits[0].priority.id} {waits[0].reason})"
        return "a roadmap change (nothing planned is ready)"

    def _resumable(self, view: RoadmapView) -> Priority | None:
        return resumable(view, self.store, self.loaded.config.daemon.retry_delay_s)

    def _effective(self, view: RoadmapView) -> RoadmapView:
        return effective(view, self.store)

    def _attempt(self, priority: Priority, view: RoadmapView, *, feedback: str | None = None) -> None:
        runner = AttemptRunner(self.loaded, self.services, self.store, guidelines=view.guidelines,
                               on_progress=self._on_progress, on_agent=self._set_agent, backend=self._backend(),
                               before_session=self.budget.before_session)
        before = self.store.get(priority.id)
        attempt_no = (before.attempt if before and before.phase not in (Phase.PLANNED, Phase.RETRY) else
                      (before.attempt + 1 if before else 1))
        self.last_priority = priority.id
        self.announce.working()
        self.progress.start(priority.id)
        self.store.set_info(current=priority.id, phase="working", started=time.time(), waiting_for=None,
                            last_action=None)
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
        except BudgetExhausted as exc:
            outcome = "budget"
            self._stop_for_budget(priority, exc)
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

    # ------------------------------------------------------------------ pull requests

    def _until_next_poll(self) -> float:
        """Idle until the next fetch of the remote, or the next retry that falls due, if sooner."""
        now = time.time()
        # Only retries still to come: one already due but not taken (over budget, gone from the roadmap)
        # must not turn the idle wait into a busy loop.
        upcoming = [due - now for due in self._retry_times() if due > now]
        return max(0.0, min([self.reviews.due_in(), *upcoming]))

    @property
    def _last_poll(self) -> float:
        return self.reviews.last_poll

    @_last_poll.setter
    def _last_poll(self, value: float) -> None:
        self.reviews.last_poll = value

    def poll_pull_requests(self, *, force: bool = False) -> None:
        """Merged → done; closed → blocked; changes requested → the agent fixes it."""
        self.reviews.poll(force=force)

    def _address_feedback(self, pid: str, pr: PullRequest, fresh: list[str]) -> None:
        """Resume the agent on the PR's branch with review comments it has not seen yet."""
        view = self.read_roadmap()
        priority = view.get(pid)
        if priority is None:
            return
        feedback = "Reviewers asked for changes on the pull request:\n\n" + "\n\n".join(f"- {c}" for c in fresh)
        log.info("addressing review feedback", priority=pid, comments=len(fresh), pr=pr.number)
        self._attempt(priority, view, feedback=feedback)


def _tokens(record: Any, key: str) -> int:
    if record is None or record.outcome is None:
        return 0
    value = record.outcome.usage.get(key, 0)
    return int(value) if isinstance(value, (int, float)) else 0
