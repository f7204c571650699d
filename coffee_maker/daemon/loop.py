"""The always-running loop: pick → check → attempt → apply the policy → watch PRs → idle.

Only this module (through ``wiring``) knows all the stages. An attempt ends with one exit
(``daemon/exits.py``); the pure policy (``daemon/policy.py``) decides what follows — a retry,
a block after ``max_attempts``, a pause for a limit, the fallback agent, a budget stop — and
``daemon/apply.py`` does it. What a person can fix while the daemon runs (a roadmap being
rewritten, an unpushed roadmap, an empty remote, a forge error) is logged once and waited
out, never fatal.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import structlog

from coffee_maker.agent.base import AgentBackend
from coffee_maker.config import LoadedConfig
from coffee_maker.daemon.agents import RunningAgents
from coffee_maker.daemon.apply import Applier
from coffee_maker.daemon.attempt import AttemptRunner
from coffee_maker.daemon.conflicts import ConflictGuard
from coffee_maker.daemon.counting import AttemptCounter
from coffee_maker.daemon.exits import AttemptExit, Exit, PrGone
from coffee_maker.daemon.fleet import OtherDaemons
from coffee_maker.daemon.idle import idle_reason, retry_times
from coffee_maker.daemon.lanes import LaneScheduler
from coffee_maker.daemon.leases import ClaimKeeper
from coffee_maker.daemon.once import OnceEnd
from coffee_maker.daemon.planning import Picker, RoadmapView, next_work
from coffee_maker.daemon.policy import Action, Block, Retry
from coffee_maker.daemon.pr_policy import Feedback
from coffee_maker.daemon.progress import Progress
from coffee_maker.daemon.reviews import PullRequestPoller
from coffee_maker.daemon.services import Services
from coffee_maker.daemon.state import FINISHED, IN_REVIEW, Phase, StateStore, attempt_number
from coffee_maker.daemon.status import StatusBoard
from coffee_maker.daemon.waiting import Announcer, NotReady
from coffee_maker.errors import CoffeeMakerError, ExitCode, UsageError
from coffee_maker.observe.context import set_phase
from coffee_maker.types import Priority

log = structlog.get_logger(__name__)

__all__ = ["Daemon", "NotReady", "RoadmapView"]

#: How soon a daemon waiting for a fix looks again, when no roadmap change wakes it first.
PROBLEM_RECHECK_S = 15.0


class Daemon:
    def __init__(
        self, loaded: LoadedConfig, services: Services, store: StateStore, *,
        read_roadmap: Callable[[], RoadmapView], pick: Picker, progress: Progress | None = None,
        wake: threading.Event | None = None, sleep: Callable[[float], None] | None = None,
        check_ready: Callable[[Priority], str | None] | None = None, claims: ClaimKeeper | None = None,
    ) -> None:
        self.loaded, self.services, self.store = loaded, services, store
        self.read_roadmap, self.pick = read_roadmap, pick
        self.progress = progress or Progress(enabled=False)
        self.stopping = threading.Event()
        self.leave = threading.Event()  # leave run() between steps without stopping the agent (SIGHUP reload)
        self.wake = wake or threading.Event()
        self._sleep_override = sleep
        self.claims = claims or ClaimKeeper(None)
        self.lanes: LaneScheduler | None = None  # the continuous run's lanes (None: `run --once`)
        self.exit_code: int | None = None  # why run() must end (the agent cannot authenticate): its exit code
        self.last_priority: str | None = None
        self._view: RoadmapView | None = None  # the roadmap as last read, to say why the daemon is idle
        self.check_ready = check_ready or (lambda _priority: None)
        self.status = StatusBoard(store)
        self.agents = RunningAgents(self.status, self.stopping)
        self.claims.on_lost = self._claim_lost
        self.announce = Announcer(self.status)
        self.fleet = OtherDaemons(loaded, self.claims, store, services, read_roadmap,
                                  lambda: self._view or self.read_roadmap())
        self.conflicts = ConflictGuard(store, self.status, self.stopping, remote=loaded.config.git.remote,
                                       recheck_s=loaded.config.daemon.poll_interval_s,
                                       roadmap=services.roadmap_relpath.as_posix(), elsewhere=self.fleet.open_prs,
                                       fetch=services.git.fetch)
        self.policy = Applier(loaded.config, services.notifier, store, self.status, sleep=self.sleep)
        self.counter = AttemptCounter(services.telemetry)
        self.once = OnceEnd(store, loaded.config.daemon, self.status, stopping=self.stopping,
                            daily_budget_hit=lambda: self.policy.daily_budget_hit, sleep=self.sleep)
        self.reviews = PullRequestPoller(store, services, interval_s=loaded.config.daemon.poll_interval_s,
                                         on_feedback=self._address_feedback, on_gone=self.agents.pr_gone,
                                         priority_of=lambda pid: self.read_roadmap().get(pid))

    def request_stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        self.services.notifier.stop.set()  # a question waiting for a person stays pending for the next run
        self.agents.stop_all()

    @property
    def current_agent(self) -> AgentBackend | None:
        """The agent running now (with lanes: one of them)."""
        return self.agents.current

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake at once for a stop or a roadmap change."""
        if self._sleep_override:
            self._sleep_override(seconds)
            return
        if self.status.lane is not None:  # a lane's pause: other lanes' ends set ``wake``, only a stop ends it
            self.stopping.wait(timeout=max(0.0, seconds))
            return
        # The loop clears ``wake`` at the top of each turn: a stop requested after its check but
        # before that clear would be lost without this look (request_stop sets ``stopping`` first).
        if self.stopping.is_set() or self.leave.is_set():
            return
        self.wake.wait(timeout=max(0.0, seconds))

    def run(self, *, once: bool = False, only: str | None = None) -> int:
        """Work until stopped; with ``once``, until one priority reached a PR or its end (see ExitCode).

        The continuous run dispatches each attempt to a lane (``daemon/lanes.py``); ``once`` works inline.
        """
        if not once and only is None:
            self.lanes = LaneScheduler(self, self.loaded.config.daemon.lanes)
            try:
                return self.lanes.run()
            finally:
                self.lanes = None
        target, first = only, True
        while not self.stopping.is_set() and not self.leave.is_set():
            self.status.heartbeat()
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
                self.sleep(min(self.until_next_poll(), PROBLEM_RECHECK_S))
                continue
            first = False
            if self.exit_code is not None:
                return self.exit_code
            if once:
                target = target or self.last_priority
                if (code := self.once.result(target)) is not None:
                    return code
            elif not did_work:
                self.announce.idle(self.idle_reason())
                self.sleep(self.until_next_poll())
        return self.exit_code or ExitCode.OK

    def step(self, *, only: str | None = None, once: bool = False) -> bool:
        """One unit of work. Returns False when there was nothing to do (now)."""
        if self.store.info().get("paused_by"):  # paused by a person (the web page): start nothing new
            return False
        view = self._view = self.read_roadmap()
        delay = self.loaded.config.daemon.retry_delay_s
        if only is not None:
            if (priority := view.get(only)) is None:
                raise UsageError(f"{only} is not a priority in the roadmap (`coffee-maker roadmap list` shows them).")
            state = self.store.get(only)
            if state is not None and (state.phase in IN_REVIEW | FINISHED | {Phase.BLOCKED} or (
                    state.phase is Phase.RETRY and state.retry_due(delay) > time.time())):
                return False
        elif (priority := next_work(view, self.store, pick=self.pick, retry_delay_s=delay).priority) is None:
            self.announce.resolved()
            return False
        if (problem := self.check_ready(priority)) is not None:
            raise NotReady(problem)
        self.announce.resolved()
        if not self.policy.within_budget(priority):
            return False
        self._attempt(priority, view)
        return True

    def remember_view(self, view: RoadmapView) -> None:
        self._view = view

    def attempt(self, priority: Priority, view: RoadmapView, *, feedback: str | None = None) -> None:
        """One attempt in the calling lane's thread (``daemon/lanes.py``)."""
        self._attempt(priority, view, feedback=feedback)

    def idle_reason(self) -> str:
        return idle_reason(self.store, self.loaded.config.daemon, self._view, daily_budget_hit=self.policy.daily_budget_hit)

    def until_next_poll(self) -> float:
        """Idle until the next fetch of the remote, or the next retry that falls due, if sooner."""
        now = time.time()
        # Only retries still to come: one already due but not taken (over budget, gone from the roadmap)
        # must not turn the idle wait into a busy loop.
        upcoming = [due - now for due in retry_times(self.store, self.loaded.config.daemon) if due > now]
        return max(0.0, min([self.reviews.due_in(), *upcoming]))

    def _attempt(self, priority: Priority, view: RoadmapView, *, feedback: str | None = None) -> None:
        """One attempt, its exit, the policy's decision applied, and the numbers."""
        before = self.store.get(priority.id)
        if feedback is not None and (before is None or before.phase not in IN_REVIEW):
            log.info("the PR left review before its feedback's turn came; nothing to fix", priority=priority.id)
            return
        if feedback is None and before is not None and before.phase is Phase.RETRY and before.extra.get("fix_round"):
            # A fix round on an open PR that failed is tried again as that round, not as a fresh start (pr_rounds).
            if (feedback := self.reviews.loop.retry_round(before)) is None:
                return  # no round left: blocked, the branch and PR kept
        runner = AttemptRunner(self.loaded, self.services, self.store, guidelines=view.guidelines,
                               on_progress=self._on_progress, on_agent=self._set_agent,
                               backend=self.policy.backend(), before_session=self.policy.budget.before_session,
                               before_pr=self.conflicts.check, stacking=self.reviews.stacking,
                               continue_from=self.claims.continue_from, claim_still_ours=self._claim_still_ours)
        attempt, branch = attempt_number(before), before.branch if before else None
        self.last_priority = priority.id
        lane = self.status.lane or 0
        self.announce.working()
        self.progress.start(priority.id, lane=lane)
        self.status.working(priority.id)
        log.info("working on priority", priority=priority.id, title=priority.title, attempt=attempt)
        counted = self.counter.started(priority.id, attempt, branch)
        action: Action | None = None
        try:
            with self.services.git.in_use(priority):  # no other lane reuses this worktree meanwhile
                exit = self._run(runner, priority, attempt, branch, feedback)
            if isinstance(exit, PrGone):
                self.reviews.settle(priority.id, exit.pr, mid_fix=True)
            action = self.policy.decide(priority, exit, attempt)
            if feedback is not None and isinstance(action, Retry | Block):
                self.reviews.loop.fix_failed(priority.id)
            self.policy.apply(priority, action, runner)  # raises AgentAuthError when the run must end
        finally:  # whatever the end (a bug too), the attempt is over and counted
            self.agents.done_with(priority.id)
            self.progress.finish(lane=lane)
            self.status.finished()
            self.counter.finished(counted, action.outcome if action else "error", runner.last_record,
                                  self.store.get(priority.id))

    def _run(self, runner: AttemptRunner, priority: Priority, attempt: int, branch: str | None,
             feedback: str | None) -> Exit:
        try:
            with self.services.tracer.attempt(priority.id, attempt=attempt, branch=branch) as trace:
                return runner.run(priority, attempt=attempt, trace=trace, feedback=feedback)
        except AttemptExit as leaving:
            return self.agents.exit_of(priority.id, leaving.exit)

    def _on_progress(self, *, phase: str | None = None, turns: int | None = None, cost: float | None = None) -> None:
        """The terminal status line, the log context (every line says its step) and `status`."""
        self.progress.update(phase=phase, turns=turns, cost=cost, lane=self.status.lane or 0)
        if phase is not None:
            set_phase(phase)
            self.status.step(phase)
        if phase == "validating":  # the agent's run is over, the gate comes next: push the work beside the claim
            pid = self._lane_priority()
            state = self.store.get(pid) if pid and self.claims.enabled else None
            if pid and state is not None and state.workspace:
                self.claims.checkpoint(pid, Path(state.workspace))

    def _lane_priority(self) -> str | None:
        """The priority the calling lane works on (its status row), or the last one inline."""
        row = self.status.table.rows.get(self.status.lane) if self.status.lane is not None else None
        return str(row["priority"]) if row and row.get("priority") else self.last_priority

    def _claim_still_ours(self, pid: str) -> bool:
        """Before a push: not lost already (``on_lost``), and renewed now if this daemon holds it."""
        return pid not in self.agents.lost and self.claims.confirm(pid)

    def _claim_lost(self, pid: str) -> None:
        """Another daemon holds ``pid`` now: the agent at work on it stops (its lane then leaves it), and a PR
        this daemon follows is left to that daemon, which adopted it (``fleet``)."""
        self.agents.claim_lost(pid)
        if (state := self.store.get(pid)) is not None and state.phase in IN_REVIEW:
            self.fleet.note_taken_over(pid, look=True)

    def _set_agent(self, agent: AgentBackend | None) -> None:
        self.agents.register(agent, self._lane_priority())

    def _address_feedback(self, pid: str, feedback: Feedback) -> None:
        """Resume the agent on the PR's branch with what it has not seen yet (review, CI, conflict); the
        poller answers the threads once the fix is pushed (``pr_loop``: ``replies_due``)."""
        view = self.read_roadmap()
        if (priority := view.get(pid)) is None:
            return
        log.info("addressing pull-request feedback", priority=pid, kind=feedback.kind, pr=feedback.pr.number)
        if self.lanes is not None:
            self.lanes.queue_feedback(priority, view, feedback.prompt)
            return
        self._attempt(priority, view, feedback=feedback.prompt)

