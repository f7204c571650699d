"""What happened during one attempt, collected as it happens.

The dev log, the PR body and the daemon's notifications are all rendered from
this record, so they agree with each other and with the interaction log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from coffee_maker.types import (
    Decision,
    PermissionRequest,
    Priority,
    Question,
    Request,
    SessionOutcome,
)


@dataclass
class DecisionNote:
    request: str  # "Bash: pytest -q" / "Q: Should I continue?"
    kind: str  # allow | deny | answer
    response: str
    method: str
    escalated: bool

    def line(self) -> str:
        """``Bash pytest -q → allowed by rule tests`` — the log's one line for this decision."""
        verdict = {"allow": "allowed", "deny": "denied", "answer": "answered"}.get(self.kind, self.kind)
        if self.kind == "answer":
            verdict += f" {self.response!r}"
        method = self.method.replace(":", " ", 1) if self.method.startswith(("rule:", "person:")) else self.method
        request = self.request if self.request.startswith("Q: ") else self.request.replace(": ", " ", 1)
        return f"{request} → {verdict} by {method}"


@dataclass
class AttemptRecord:
    priority: Priority
    attempt: int
    branch: str
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    tools: list[tuple[str, str]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    decisions: list[DecisionNote] = field(default_factory=list)
    gate_passed: bool | None = None
    gate_summary: str = ""
    test_output: str = ""
    outcome: SessionOutcome | None = None
    cost_usd: float = 0.0
    turns: int = 0
    files_changed: list[str] = field(default_factory=list)
    pr_url: str | None = None
    result: str = "failed"  # success | partial | failed | blocked
    reason: str = ""

    def note_tool(self, name: str, summary: str, root: str | None = None) -> str:
        if root and summary.startswith(root.rstrip("/") + "/"):
            summary = summary[len(root.rstrip("/")) + 1:]
        self.tools.append((name, summary[:200]))
        return summary[:200]

    def note_text(self, text: str) -> None:
        if text.strip():
            self.texts.append(text.strip())

    def note_decision(self, request: Request, decision: Decision, root: str | None = None) -> DecisionNote:
        if isinstance(request, PermissionRequest):
            detail = describe_tool_input(request.input)
            if root and detail.startswith(root.rstrip("/") + "/"):
                detail = detail[len(root.rstrip("/")) + 1:]
            summary = f"{request.tool}: {detail}"
        else:
            summary = f"Q: {request.text}"
        response = decision.answer or decision.message or decision.kind.value
        escalated = decision.method.startswith("person") or decision.method.startswith("timeout")
        note = DecisionNote(summary[:300], decision.kind.value, response[:300], decision.method, escalated)
        self.decisions.append(note)
        return note

    def note_outcome(self, outcome: SessionOutcome) -> None:
        self.outcome = outcome
        self.cost_usd += outcome.cost_usd
        self.turns += outcome.num_turns

    @property
    def escalations(self) -> list[DecisionNote]:
        return [d for d in self.decisions if d.escalated]

    @property
    def elapsed_s(self) -> float:
        return (self.ended_at or time.time()) - self.started_at


def describe_tool_input(tool_input: object) -> str:
    """A one-line summary of a tool call's input (command, path or keys) — the rules' own summary."""
    from coffee_maker.rules.subject import summary_of

    if isinstance(tool_input, dict):
        return summary_of(tool_input)[:200]
    return str(tool_input)[:200]


def question_summary(question: Question) -> str:
    return question.text.strip().splitlines()[0][:200] if question.text.strip() else "(empty question)"
