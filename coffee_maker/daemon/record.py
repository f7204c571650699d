"""What happened during one attempt, collected as it happens.

The dev log, the PR body and the daemon's notifications are all rendered from
this record, so they agree with each other and with the interaction log.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from coffee_maker.daemon.claims import claimed_deliverables
from coffee_maker.rules.subject import relative_to, summary_of
from coffee_maker.types import (
    Decision,
    DecisionSource,
    PermissionRequest,
    Priority,
    Request,
    SessionOutcome,
    SourceKind,
)


@dataclass
class DecisionNote:
    request: str  # "Bash: pytest -q" / "Q: Should I continue?"
    kind: str  # allow | deny | answer
    response: str
    method: str  # the decision source's label (``DecisionSource.label()``), as the dev log and PR body show it
    escalated: bool
    waited_s: float = 0.0  # how long the answer took (a person's, for an escalation)

    def line(self) -> str:
        """``Bash pytest -q → allowed by rule tests`` — the log's one line for this decision."""
        verdict = {"allow": "allowed", "deny": "denied", "answer": "answered"}.get(self.kind, self.kind)
        if self.kind == "answer":
            verdict += f" {self.response!r}"
        source = DecisionSource.parse(self.method)
        method = f"{source.kind} {source.name}" if source.kind in (SourceKind.RULE, SourceKind.PERSON) else self.method
        request = self.request if self.request.startswith("Q: ") else self.request.replace(": ", " ", 1)
        return f"{request} → {verdict} by {method}"


class AttemptResult(StrEnum):
    """How an attempt ended, as the dev log's file name and outcome line say it."""

    SUCCESS = "success"
    FAILED = "failed"
    BLOCKED = "blocked"


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
    summaries: list[str] = field(default_factory=list)  # each session's final text
    cost_usd: float = 0.0
    turns: int = 0
    tokens: int = 0  # input + output + cache tokens, as the agent CLI reports them
    gate_rounds: int = 0  # times the gate failed and the agent was asked to fix it
    files_changed: list[str] = field(default_factory=list)
    pr_url: str | None = None
    merge_check: str = ""  # what the branch was checked against before its PR (daemon/conflicts.py)
    result: AttemptResult = AttemptResult.FAILED
    reason: str = ""

    def note_tool(self, name: str, summary: str, root: str | None = None) -> str:
        summary = relative_to(summary, root)
        self.tools.append((name, summary[:200]))
        return summary[:200]

    def note_text(self, text: str) -> None:
        if text.strip():
            self.texts.append(text.strip())

    def note_decision(self, request: Request, decision: Decision, root: str | None = None, *,
                      waited_s: float = 0.0) -> DecisionNote:
        if isinstance(request, PermissionRequest):
            summary = f"{request.tool}: {summary_of(request.input, root)[:200]}"
        else:
            summary = f"Q: {request.text}"
        response = decision.answer or decision.message or decision.kind.value
        note = DecisionNote(summary[:300], decision.kind.value, response[:300], decision.source.label(),
                            decision.source.asked_a_person, round(waited_s, 1))
        self.decisions.append(note)
        return note

    def note_outcome(self, outcome: SessionOutcome) -> None:
        self.outcome = outcome
        self.cost_usd += outcome.cost_usd
        self.turns += outcome.num_turns
        self.tokens += sum(int(v) for k, v in outcome.usage.items() if k.endswith("tokens") and isinstance(v, int | float))
        if outcome.final_text.strip():
            self.summaries.append(outcome.final_text.strip())

    @property
    def claimed(self) -> list[str]:
        """The deliverables the agent said it completed (its `- [x] …` lines), in roadmap order."""
        return claimed_deliverables([*self.texts, *self.summaries], self.priority.deliverables)

    def snapshot(self) -> dict[str, Any]:
        """What a resumed attempt needs from the sessions before it (kept in the state DB)."""
        return {"attempt": self.attempt, "branch": self.branch, "started_at": self.started_at,
                "decisions": [asdict(d) for d in self.decisions], "summaries": self.summaries[-5:],
                "texts": self.texts[-5:], "cost_usd": self.cost_usd, "turns": self.turns,
                "tokens": self.tokens, "gate_rounds": self.gate_rounds,
                # What the PR body shows of the gate: a receipt refreshed between pushes renders it again.
                "gate_summary": self.gate_summary, "test_output": self.test_output[-4000:],
                "merge_check": self.merge_check}

    def restore(self, saved: object) -> bool:
        """Take over the earlier sessions of this same attempt (after a crash or a usage-limit pause).

        A snapshot of another attempt or branch is ignored: a retry starts its record afresh.
        """
        if not isinstance(saved, dict) or saved.get("attempt") != self.attempt or saved.get("branch") != self.branch:
            return False
        self.started_at = float(saved.get("started_at", self.started_at))
        self.decisions = [DecisionNote(**d) for d in saved.get("decisions", [])] + self.decisions
        self.summaries = [str(t) for t in saved.get("summaries", [])] + self.summaries
        self.texts = [str(t) for t in saved.get("texts", [])] + self.texts
        self.cost_usd += float(saved.get("cost_usd", 0.0))
        self.turns += int(saved.get("turns", 0))
        self.tokens += int(saved.get("tokens", 0))
        self.gate_rounds += int(saved.get("gate_rounds", 0))
        self.gate_summary = self.gate_summary or str(saved.get("gate_summary", ""))
        self.test_output = self.test_output or str(saved.get("test_output", ""))
        self.merge_check = self.merge_check or str(saved.get("merge_check", ""))
        return True

    @property
    def escalations(self) -> list[DecisionNote]:
        return [d for d in self.decisions if d.escalated]

    @property
    def elapsed_s(self) -> float:
        return (self.ended_at or time.time()) - self.started_at


def describe_tool_input(tool_input: object) -> str:
    """A one-line summary of a tool call's input (command, path or keys) — the rules' own summary."""
    if isinstance(tool_input, dict):
        return summary_of(tool_input)[:200]
    return str(tool_input)[:200]
