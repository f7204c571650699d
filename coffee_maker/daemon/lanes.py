"""Lanes: several priorities at once, each attempt in its own thread, on one daemon.

Why threads: an attempt spends its time waiting — on the agent's process, the test command,
a person's answer — so the GIL is no limit, and the state store, the escalator and the claims
are already safe to share between threads. Each priority already has its own worktree, branch,
agent process and state row, so a lane is only the thread that runs one ``Daemon._attempt``.

The main thread keeps everything that is daemon-wide: the heartbeat, the review poll, the
claims' renewals, and the scheduling — each turn it fills the free lanes with the next ready
priorities in roadmap order (review feedback first), then sleeps until a lane ends, the
roadmap changes, a stop, a renewal or the next poll. A lane's failure stays in the lane: a
bug is logged and counted as a failed attempt, a problem a person can fix is announced as in
the one-lane loop, an authentication failure stops every lane and ends the run.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import structlog

from coffee_maker.config import LoadedConfig
from coffee_maker.daemon.apply import Applier
from coffee_maker.daemon.exits import Failed
from coffee_maker.daemon.fleet import OtherDaemons
from coffee_maker.daemon.leases import ClaimKeeper
from coffee_maker.daemon.planning import Picker, RoadmapView, next_ready
from coffee_maker.daemon.reviews import PullRequestPoller
from coffee_maker.daemon.state import Phase, StateStore, attempt_number
from coffee_maker.daemon.status import StatusBoard
from coffee_maker.daemon.waiting import Announcer, NotReady
from coffee_maker.errors import AgentAuthError, CoffeeMakerError, ExitCode
from coffee_maker.types import Priority

log = structlog.get_logger(__name__)

#: How long the end of a run waits for the stopped lanes' agents to exit before it leaves them.
JOIN_BOUND_S = 60.0

#: How soon a daemon waiting for a fix looks again (as the one-lane loop).
PROBLEM_RECHECK_S = 15.0


class LaneHost(Protocol):
    """What the scheduler needs of the daemon (``daemon/loop.py``'s Daemon)."""

    loaded: LoadedConfig
    store: StateStore
    stopping: threading.Event
    leave: threading.Event
    wake: threading.Event
    status: StatusBoard
    announce: Announcer
    policy: Applier
    reviews: PullRequestPoller
    claims: ClaimKeeper
    fleet: OtherDaemons
    pick: Picker
    read_roadmap: Callable[[], RoadmapView]
    check_ready: Callable[[Priority], str | None]
    exit_code: int | None

    def sleep(self, seconds: float) -> None: ...
    def request_stop(self) -> None: ...
    def remember_view(self, view: RoadmapView) -> None: ...
    def idle_reason(self) -> str: ...
    def until_next_poll(self) -> float: ...
    def attempt(self, priority: Priority, view: RoadmapView, *, feedback: str | None = None) -> None: ...


@dataclass
class Lane:
    index: int
    priority: Priority
    thread: threading.Thread | None = None
    error: BaseException | None = None


class LaneScheduler:
    """Up to ``size`` attempts at once for ``host``'s continuous run."""

    def __init__(self, host: LaneHost, size: int) -> None:
        self.host = host
        self.size = size
        self.lanes: dict[int, Lane] = {}
        self._lock = threading.Lock()
        #: Review feedback waiting for a free lane: it goes before any new priority.
        self.feedback: deque[tuple[Priority, RoadmapView, str]] = deque()
        self._backend_said: float = 0.0

    # ------------------------------------------------------------------ the main thread

    def run(self) -> int:
        host = self.host
        try:
            host.status.no_lanes()
            host.claims.adopt(host.store)
            host.fleet.note_reviews_taken_over()
            while not host.stopping.is_set() and not host.leave.is_set():
                host.status.heartbeat()
                host.wake.clear()  # before the turn reads anything: a change during it still wakes the wait
                if (error := self._reap()) is not None:
                    raise error
                try:
                    host.reviews.poll()
                    host.claims.renew(self._working())
                    host.claims.release_finished(host.store)
                    started = self._fill()
                except CoffeeMakerError as exc:
                    if exc.exit_code == ExitCode.AUTH_FAILED:
                        raise
                    host.announce.problem(exc.message)
                    host.sleep(min(self._until_next_turn(), PROBLEM_RECHECK_S))
                    continue
                if not started and not self.running():
                    host.announce.idle(host.idle_reason())
                host.sleep(self._until_next_turn())
            if host.leave.is_set() and not host.stopping.is_set():
                self._join(None)  # a reload lets the running attempts finish, as the one-lane loop does
        finally:
            self._stop_all()
        if (error := self._reap()) is not None:
            raise error
        return host.exit_code or ExitCode.OK

    def running(self) -> frozenset[str]:
        with self._lock:
            return frozenset(lane.priority.id for lane in self.lanes.values())

    def queue_feedback(self, priority: Priority, view: RoadmapView, feedback: str) -> None:
        """Review feedback is never lost: it waits for a free lane and goes first."""
        self.feedback.append((priority, view, feedback))
        self.host.wake.set()

    def _working(self) -> dict[str, Path]:
        """The worktrees of the lanes whose agent is at work: their claim's renewal pushes a checkpoint."""
        states = (self.host.store.get(pid) for pid in self.running())
        return {s.priority: Path(s.workspace) for s in states
                if s is not None and s.phase is Phase.AGENT_RUNNING and s.workspace}

    def _free(self) -> int:
        with self._lock:
            return self.size - len(self.lanes)

    def _fill(self) -> bool:
        """Start the next ready priorities in the free lanes; True when one started."""
        host, started = self.host, False
        for _ in range(len(self.feedback)):
            if self._free() <= 0:
                return started
            priority, view, text = self.feedback.popleft()
            if priority.id in self.running():
                self.feedback.append((priority, view, text))  # its lane is still on it: after that one
                continue
            self._start(priority, view, text)
            started = True
        if self._free() <= 0 or host.store.info().get("paused_by"):  # paused by a person: nothing new
            return started
        if (until := host.policy.backend_paused_until()) is not None:
            if until != self._backend_said:
                self._backend_said = until
                log.info("the agent backend is paused for a limit; no new lane starts until its reset",
                         until=time.strftime("%H:%M:%S", time.localtime(until)))
            return started
        view = host.read_roadmap()
        host.remember_view(view)
        skipped = set(host.fleet.in_review_elsewhere())  # and those claimed elsewhere or over budget this turn
        delay = host.loaded.config.daemon.retry_delay_s
        while (free := self._free()) > 0:
            ready = next_ready(view, host.store, pick=host.pick, retry_delay_s=delay, count=free,
                               running=self.running() | skipped)
            if not ready:
                break
            for priority in ready:
                skipped.add(priority.id)
                if (problem := host.check_ready(priority)) is not None:
                    raise NotReady(problem)
                if not host.claims.claim(priority.id):
                    host.fleet.note_taken_over(priority.id)
                    continue
                if (elsewhere := host.fleet.elsewhere(priority)) is not None:
                    if elsewhere == "finished":
                        host.claims.give_back(priority.id)
                    continue  # adopted: in review here now, its PR followed by the poller
                if not host.policy.within_budget(priority):
                    continue
                host.announce.resolved()
                self._start(priority, view, None)
                started = True
        return started

    def _start(self, priority: Priority, view: RoadmapView, feedback: str | None) -> None:
        with self._lock:
            index = min(set(range(1, self.size + 1)) - set(self.lanes))  # lane 1..N, as people count
            lane = self.lanes[index] = Lane(index, priority)
        lane.thread = threading.Thread(target=self._lane_main, args=(lane, view, feedback),
                                       name=f"lane-{index}", daemon=True)
        log.info("lane starts", lane=index, priority=priority.id, feedback=feedback is not None)
        lane.thread.start()

    def _until_next_turn(self) -> float:
        waits = [self.host.until_next_poll()]
        if (renewal := self.host.claims.next_renewal_in(time.time())) is not None:
            waits.append(renewal)
        if (until := self.host.policy.backend_paused_until()) is not None:
            waits.append(until - time.time())
        return max(0.0, min(waits))

    def _reap(self) -> BaseException | None:
        """Forget the lanes that ended; the first authentication failure among them ends the run."""
        with self._lock:
            ended = [lane for lane in self.lanes.values() if lane.thread is not None and not lane.thread.is_alive()]
            for lane in ended:
                del self.lanes[lane.index]
        fatal: BaseException | None = None
        for lane in ended:
            if isinstance(lane.error, AgentAuthError):
                fatal = fatal or lane.error
            elif isinstance(lane.error, CoffeeMakerError):
                self.host.announce.problem(lane.error.message)
        if fatal is not None:
            self._stop_all()
        return fatal

    def _stop_all(self) -> None:
        """Stop every lane's agent (their attempts are left to resume) and wait for the lanes, bounded."""
        if self.running():
            self.host.request_stop()
        self._join(JOIN_BOUND_S)

    def _join(self, bound: float | None) -> None:
        deadline = None if bound is None else time.monotonic() + bound
        with self._lock:
            threads = [lane.thread for lane in self.lanes.values() if lane.thread is not None]
        for thread in threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("a lane did not end in time; leaving it", lane=thread.name)

    # ------------------------------------------------------------------ a lane's thread

    def _lane_main(self, lane: Lane, view: RoadmapView, feedback: str | None) -> None:
        host = self.host
        host.status.bind_lane(lane.index)
        structlog.contextvars.bind_contextvars(lane=lane.index)  # per thread: every line of this lane says it
        try:
            host.attempt(lane.priority, view, feedback=feedback)
        except CoffeeMakerError as exc:  # an authentication failure or a problem a person fixes
            lane.error = exc
        except Exception as exc:  # noqa: BLE001 — a bug in one lane must not take the others down
            log.exception("a lane crashed; its priority counts a failed attempt", priority=lane.priority.id)
            self._count_failure(lane.priority, f"the daemon hit a bug: {type(exc).__name__}: {exc}")
        finally:
            host.wake.set()  # the main thread fills the free lane now

    def _count_failure(self, priority: Priority, reason: str) -> None:
        policy = self.host.policy
        try:
            attempt = attempt_number(self.host.store.get(priority.id))
            policy.apply(priority, policy.decide(priority, Failed(reason), attempt), None)
        except Exception:  # noqa: BLE001 — counting must not crash the lane's thread either
            log.exception("could not count the crashed attempt", priority=priority.id)
