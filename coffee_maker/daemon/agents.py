"""The agents at work, by lane, and the reasons one must stop before its run ends.

Three things stop an agent from outside its lane: the daemon's stop (SIGTERM, Ctrl-C), another daemon
taking the priority's claim over (``lost``), and a person merging or closing the PR whose feedback the
agent is fixing (``gone``). Each can come before the agent has started — between the lane taking the
priority and the backend's process existing — so ``register`` looks at all three as the agent arrives,
and the attempt's end (``exit_of``) says which of them ended a run that looks failed.
"""

from __future__ import annotations

import threading

import structlog

from coffee_maker.agent.base import AgentBackend
from coffee_maker.daemon.exits import Exit, Failed, Interrupted, PrGone
from coffee_maker.daemon.status import StatusBoard
from coffee_maker.types import PullRequest

log = structlog.get_logger(__name__)


class RunningAgents:
    def __init__(self, status: StatusBoard, stopping: threading.Event) -> None:
        self.status, self.stopping = status, stopping
        #: The running agents by lane (0 for `run --once` and the main thread).
        self.by_lane: dict[int, AgentBackend] = {}
        self.lost: set[str] = set()  # priorities whose claim another daemon took: their lane leaves them
        self.gone: dict[str, PullRequest] = {}  # fixes whose PR a person merged or closed: their agent stops

    @property
    def current(self) -> AgentBackend | None:
        """The agent running now (with lanes: one of them)."""
        return next(iter(self.by_lane.values()), None)

    def register(self, agent: AgentBackend | None, pid: str | None) -> None:
        """The calling lane's agent (None: its run is over); one that should already be stopped is, at once."""
        lane = self.status.lane or 0
        if agent is None:
            self.by_lane.pop(lane, None)
            return
        self.by_lane[lane] = agent
        if self.stopping.is_set() or pid in self.lost or pid in self.gone:
            agent.stop()

    def stop_all(self) -> None:
        for agent in list(self.by_lane.values()):
            _stop(agent)

    def claim_lost(self, pid: str) -> None:
        """Another daemon holds the priority now: its lane stops the agent and leaves it."""
        self.lost.add(pid)
        self._stop_agent_of(pid)

    def pr_gone(self, pid: str, pr: PullRequest) -> None:
        """A person merged or closed the PR whose feedback a lane's agent works on: that agent stops."""
        if pid not in self.gone:
            log.info("the PR was merged or closed during its fix; stopping the agent", priority=pid, pr=pr.number,
                     state=pr.state.value)
        self.gone[pid] = pr
        self._stop_agent_of(pid)

    def exit_of(self, pid: str, exit: Exit) -> Exit:
        """What an attempt that left with ``exit`` really ended by: a failure caused by one of our stops is none."""
        if not isinstance(exit, Failed):
            return exit
        if pid in self.gone:
            return PrGone(self.gone[pid])  # the poller stopped the fix: its PR was merged or closed
        if self.stopping.is_set() or pid in self.lost:
            return Interrupted()  # the stop killed the agent (or another daemon took it): nothing failed
        return exit

    def done_with(self, pid: str) -> None:
        """The attempt is over: a stop meant for it must not reach the priority's next attempt."""
        self.lost.discard(pid)
        self.gone.pop(pid, None)

    def _stop_agent_of(self, pid: str) -> None:
        for lane, row in list(self.status.table.rows.items()):
            if row.get("priority") == pid and (agent := self.by_lane.get(lane)) is not None:
                _stop(agent)


def _stop(agent: AgentBackend) -> None:
    try:
        agent.stop()
    except Exception:  # noqa: BLE001 — stopping must not fail on a half-started agent
        log.warning("agent stop failed", exc_info=True)
