"""Everything the loop and the attempt pipeline use, each typed by the Protocol declared next to its
implementations — so the daemon imports no subsystem's implementation, and a test (or the demo)
hands in other parts of the same shapes. Real ones are built in ``daemon/wiring.py``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from coffee_maker.agent.base import AgentBackend
from coffee_maker.daemon.record import AttemptRecord
from coffee_maker.interaction.facts import FactsView
from coffee_maker.notify.channels import Notifier
from coffee_maker.observe.telemetry import NullTelemetry, Telemetry
from coffee_maker.observe.tracing import Tracer
from coffee_maker.types import DecisionCallback, Priority
from coffee_maker.vcs.forge import Forge
from coffee_maker.vcs.gate import Gate
from coffee_maker.vcs.git import WorkspaceGit

__all__ = ["AgentFactory", "Services"]

#: An agent for one attempt: ``(priority, backend=None, *, max_cost_usd=…)`` — the configured backend, or the named one.
AgentFactory = Callable[..., AgentBackend]


@dataclass
class Services:
    """Built once per configuration (rebuilt on SIGHUP)."""

    agent_for: AgentFactory
    git: WorkspaceGit
    gate: Gate
    forge: Forge
    notifier: Notifier
    #: The MessageHandler's decision callback for one attempt; it reads a copy of the attempt's facts per decision.
    decide_factory: Callable[[Priority, FactsView, Path], DecisionCallback]
    pr_body: Callable[[Priority, AttemptRecord], str]
    #: Roadmap path relative to the repository (the same file inside a worktree).
    roadmap_relpath: Path
    #: Disabled (``Tracer(None)``) and ``NullTelemetry`` record nothing: the seam is the same either way.
    tracer: Tracer = field(default_factory=lambda: Tracer(None))
    telemetry: Telemetry = field(default_factory=NullTelemetry)
    keep_failed_branches: bool = True

    def close(self) -> None:
        self.telemetry.close()
        self.tracer.shutdown()
        self.notifier.close()
