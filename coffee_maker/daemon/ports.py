"""The shapes the daemon loop needs from each stage. Real implementations are wired in
``coffee_maker.daemon.wiring``; the loop itself imports no subsystem directly."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from coffee_maker.types import DecisionCallback, Priority, PullRequest, SessionOutcome


class Agent(Protocol):
    def run(
        self, prompt: str, *, cwd: Path, decide: DecisionCallback,
        on_event: Callable[[Any], None], resume_session_id: str | None = None,
    ) -> SessionOutcome: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Workspace:
    path: Path
    branch: str
    base: str


@dataclass(frozen=True)
class GateReport:
    passed: bool
    summary: str
    test_output: str = ""
    secrets_found: bool = False
    failures: Sequence[str] = ()


class Git(Protocol):
    def preflight(self) -> None: ...
    def prepare(self, priority: Priority) -> Workspace: ...
    def changed_files(self, ws: Workspace) -> list[str]: ...
    def commit(self, ws: Workspace, message: str, trailers: Mapping[str, str]) -> str | None: ...
    def push(self, ws: Workspace) -> None: ...
    def discard(self, ws: Workspace, *, keep_branch: bool) -> None: ...
    def fetch(self) -> None: ...
    def has_branch(self, branch: str) -> bool: ...


class Gate(Protocol):
    def check(self, ws: Workspace) -> GateReport: ...


class Forge(Protocol):
    def open_or_update(self, *, branch: str, base: str, title: str, body: str) -> PullRequest: ...
    def find(self, branch: str) -> PullRequest | None: ...
    def feedback(self, pr: PullRequest) -> list[str]: ...


class Notifier(Protocol):
    def inform(self, message: str, *, priority: str | None = None, kind: str = "info") -> None: ...


@dataclass
class Services:
    """Everything the loop uses, built once (and rebuilt on SIGHUP)."""

    agent: Agent
    git: Git
    gate: Gate
    forge: Forge
    notifier: Notifier
    decide_factory: Callable[[Priority, dict[str, Any]], DecisionCallback]
    tracer: Any = None
    telemetry: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
