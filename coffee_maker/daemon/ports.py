"""The shapes the daemon loop needs from each stage. Real implementations are wired in
``coffee_maker.daemon.wiring``; the loop and the attempt pipeline import no subsystem's
implementation directly, so each stage can be replaced (and the demo uses the same seams)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from coffee_maker.types import (
    DecisionCallback,
    GateReport,
    Priority,
    PullRequest,
    SessionOutcome,
    Workspace,
)

__all__ = ["Agent", "Forge", "Gate", "GateReport", "Git", "Notifier", "Services", "Tracer", "Workspace"]


class Agent(Protocol):
    def run(
        self, prompt: str, cwd: Path, *, on_event: Callable[[Any], None], decide: DecisionCallback,
        resume_session_id: str | None = None,
    ) -> SessionOutcome: ...

    def stop(self) -> None: ...


class Git(Protocol):
    def preflight(self) -> None: ...
    def prepare(self, priority: Priority) -> Workspace: ...
    def changed_files(self, ws: Workspace) -> list[str]: ...
    def commit(self, ws: Workspace, message: str, trailers: Mapping[str, str]) -> str | None: ...
    def committed_head(self, ws: Workspace) -> str | None: ...
    def push(self, ws: Workspace) -> None: ...
    def discard(self, ws: Workspace, *, keep_branch: bool) -> None: ...
    def fetch(self) -> None: ...


class Gate(Protocol):
    def check(self, ws: Workspace) -> GateReport: ...


class Forge(Protocol):
    def open_or_update(self, *, branch: str, base: str, title: str, body: str) -> PullRequest: ...
    def find(self, branch: str) -> PullRequest | None: ...
    def feedback(self, pr: PullRequest) -> list[str]: ...


class Notifier(Protocol):
    def inform(self, message: str, *, priority: str | None = None, kind: str = "info") -> None: ...


class Tracer(Protocol):
    def attempt(self, priority_id: str, *, attempt: int, branch: str | None) -> AbstractContextManager[Any]: ...


@dataclass
class Services:
    """Everything the loop uses, built once per configuration (rebuilt on SIGHUP)."""

    #: An agent for one attempt: the configured backend, or the named one (a fallback).
    agent_for: Callable[..., Agent]
    git: Git
    gate: Gate
    forge: Forge
    notifier: Notifier
    #: The MessageHandler's decision callback for one attempt; facts are read live from the dict.
    decide_factory: Callable[[Priority, dict[str, Any], Path], DecisionCallback]
    pr_body: Callable[[Priority, Any], str]
    #: Roadmap path relative to the repository (the same file inside a worktree).
    roadmap_relpath: Path
    tracer: Any = None
    telemetry: Any = None
    keep_failed_branches: bool = True

    def close(self) -> None:
        for part in (self.telemetry, self.tracer, self.notifier):
            close = getattr(part, "close", None) or getattr(part, "shutdown", None)
            if callable(close):
                close()
