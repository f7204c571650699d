"""Fixtures for the agent tests: the real Claude Code CLI (or a skip/fail), fake CLIs, recorders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from coffee_maker.agent.events import AgentEvent
from coffee_maker.types import Decision, DecisionKind, DecisionSource, PermissionRequest, Question

_TEST = DecisionSource.parse("test")

REPO = Path(__file__).resolve().parents[2]
FAKE_CLIS = Path(__file__).resolve().parent / "fake_clis"


def claude_binary() -> str | None:
    """The pinned CLI from `make claude-cli`, or CM_TEST_CLAUDE_BIN."""
    override = os.environ.get("CM_TEST_CLAUDE_BIN")
    if override:
        return override
    local = REPO / ".tools" / "claude-code" / "node_modules" / ".bin" / "claude"
    return str(local) if local.exists() else None


@pytest.fixture
def claude_bin() -> str:
    binary = claude_binary()
    if binary is None:
        message = "the Claude Code CLI is not installed: run `make claude-cli` (or set CM_TEST_CLAUDE_BIN)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return binary


class Recorder:
    """Collects events and answers requests from a small table."""

    def __init__(self, *, allow: tuple[str, ...] = (), answer: str | None = None, deny_message: str = "Denied.") -> None:
        self.events: list[AgentEvent] = []
        self.requests: list[PermissionRequest | Question] = []
        self.allow = allow
        self.answer = answer
        self.deny_message = deny_message

    def on_event(self, event: AgentEvent) -> None:
        self.events.append(event)

    def decide(self, request: PermissionRequest | Question) -> Decision:
        self.requests.append(request)
        if isinstance(request, Question):
            if self.answer is None:
                return Decision(kind=DecisionKind.DENY, message="No answer.")
            return Decision(kind=DecisionKind.ANSWER, answer=self.answer, source=_TEST)
        if request.tool in self.allow:
            return Decision(kind=DecisionKind.ALLOW, source=_TEST)
        return Decision(kind=DecisionKind.DENY, message=self.deny_message, source=_TEST)

    def types(self) -> list[str]:
        return [e.type for e in self.events]

    def of(self, kind: str) -> list[AgentEvent]:
        return [e for e in self.events if e.type == kind]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()
