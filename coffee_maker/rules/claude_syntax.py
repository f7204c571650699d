"""Permission rules in Claude Code's own syntax, for `coffee-maker agent run --allow/--deny`.

They compile into the one rule type (``coffee_maker.rules.model.PermissionRule``) and are judged
by the same engine as the configured rules — so `Bash(pytest:*)` allows the `pytest` part of
`pytest && git push`, never the push. Syntax:

* ``Write`` — every call of the tool;
* ``Bash(pytest:*)`` — a simple command that is ``pytest`` or starts with ``pytest ``;
* ``Bash(git status)`` — exactly that command (``*`` and ``?`` are wildcards);
* ``Edit(src/**)`` — a file tool whose path (relative to the working directory) matches the glob.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coffee_maker.errors import UsageError
from coffee_maker.rules.engine import RuleEngine
from coffee_maker.rules.model import FILE_TOOLS, PermissionRule, QuestionRisk, QuestionRule
from coffee_maker.types import (
    Decision,
    DecisionKind,
    DecisionSource,
    PermissionRequest,
    Question,
    Request,
    SourceKind,
)

_RULE_RE = re.compile(r"^(?P<tool>[A-Za-z0-9_.:*-]+)(?:\((?P<spec>.*)\))?$")
_NOBODY_ASKED = "This needs a person's decision, and nobody is asked during `agent run`."


@dataclass(frozen=True)
class ToolRule:
    tool: str
    spec: str | None = None

    @classmethod
    def parse(cls, text: str) -> ToolRule:
        match = _RULE_RE.match(text.strip())
        if not match:
            raise UsageError(f"Not a permission rule: {text!r} (expected e.g. Write, Bash(pytest:*), Edit(src/**)).")
        rule = cls(tool=match.group("tool"), spec=match.group("spec"))
        if rule.spec not in (None, "", "*") and rule.tool != "Bash" and rule.tool not in FILE_TOOLS:
            raise UsageError(f"{text!r}: only Bash(…) and file tools ({', '.join(FILE_TOOLS)}) take a pattern.")
        return rule

    def to_rule(self, decision: str) -> PermissionRule:
        """The engine rule: a command regex for Bash, a path glob for file tools (validated as any rule is)."""
        command = path = None
        if self.spec not in (None, "", "*"):
            spec = str(self.spec)
            if self.tool == "Bash" and spec.endswith(":*"):
                command = "^" + re.escape(spec[:-2].strip()) + r"(\s|$)"
            elif self.tool == "Bash":
                command = "^(?:" + fnmatch.translate(" ".join(spec.split())).removeprefix("(?s:")
            else:
                path = spec
        try:
            return PermissionRule(name=f"{decision}:{self}", tool=self.tool, decision=decision,
                                  command=command, path=path,
                                  reason=f"Denied by --deny {self}." if decision == "deny" else None)
        except ValueError as exc:
            raise UsageError(f"{self}: {exc}") from None

    def matches(self, request: PermissionRequest, cwd: Path | None = None) -> bool:
        """Does this rule alone decide ``request``? (Judged part by part, as the engine does.)"""
        decider = RuleDecider(allow=[str(self)], cwd=cwd)
        return decider(request).kind is DecisionKind.ALLOW

    def __str__(self) -> str:
        return self.tool if self.spec is None else f"{self.tool}({self.spec})"


def compile_rules(allow: Sequence[str] = (), deny: Sequence[str] = ()) -> list[PermissionRule]:
    """--deny rules first, then --allow rules, as engine rules."""
    return [*(ToolRule.parse(r).to_rule("deny") for r in deny), *(ToolRule.parse(r).to_rule("allow") for r in allow)]


@dataclass(frozen=True)
class NoConfiguredRules:
    """The ``[rules]`` of a run without a configuration: no rule of its own, anything unmatched denied."""

    escalate: tuple[str, ...] = ()
    question_risks: tuple[QuestionRisk, ...] = ()
    permissions: tuple[PermissionRule, ...] = ()
    extra_permissions: tuple[PermissionRule, ...] = ()
    questions: tuple[QuestionRule, ...] = ()
    extra_questions: tuple[QuestionRule, ...] = ()
    allow_test_command: bool = True
    default_question: str = "ask"
    default_permission: str = "deny"


class RuleDecider:
    """A decision callback: deny rules first, then allow rules, anything else denied.

    A question gets ``answer`` when one is set; otherwise, with ``settings`` (the configured
    ``[rules]``), the configured question rules answer it, and without them it gets a "no answer"
    denial. What no --allow/--deny rule decides goes to ``settings``, part by part; a verdict that
    needs a person is a denial (nobody is asked).
    """

    def __init__(self, allow: Sequence[str] = (), deny: Sequence[str] = (), *, answer: str | None = None,
                 cwd: Path | None = None, settings: Any = None, test_command: str | None = None) -> None:
        self.answer = answer
        self.cwd = cwd
        overrides = compile_rules(allow, deny)
        #: Engine rule name → the --deny rule as written, for the denial the model reads.
        self._denies = {tool_rule.to_rule("deny").name: str(tool_rule) for tool_rule in map(ToolRule.parse, deny)}
        self._configured = settings is not None
        self.engine = RuleEngine(settings if settings is not None else NoConfiguredRules(), root=cwd or Path.cwd(),
                                 test_command=test_command, overrides=overrides)

    def __call__(self, request: Request) -> Decision:
        if isinstance(request, Question):
            return self._question(request)
        decision = self.engine.evaluate(request)
        if decision.source.kind is SourceKind.DEFAULT:
            return Decision(kind=DecisionKind.DENY, source=DecisionSource.rule("default-deny"),
                            message=f"{request.tool} is not allowed here (no --allow rule matches).")
        if decision.kind is DecisionKind.ASK:
            return Decision(DecisionKind.DENY, source=decision.source, risk=decision.risk, reason=decision.reason,
                            message=_NOBODY_ASKED)
        denied_by = self._denies.get(decision.source.rule_name or "")
        if decision.kind is DecisionKind.DENY and denied_by is not None:
            return Decision(DecisionKind.DENY, source=decision.source, message=f"Denied by rule {denied_by}.",
                            risk=decision.risk)
        return decision

    def _question(self, question: Question) -> Decision:
        if self.answer:
            return Decision(kind=DecisionKind.ANSWER, answer=self.answer, source=DecisionSource.rule("--answer"))
        if not self._configured:
            return Decision(kind=DecisionKind.DENY, message="No one is available to answer; use your best judgement.",
                            source=DecisionSource.rule("no-answer"))
        configured = self.engine.evaluate(question, {})
        if configured.kind is DecisionKind.ASK:
            return Decision(DecisionKind.DENY, source=configured.source, message=_NOBODY_ASKED)
        return configured
