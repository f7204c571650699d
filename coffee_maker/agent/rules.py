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

from coffee_maker.errors import UsageError
from coffee_maker.rules.model import FILE_TOOLS, PermissionRule
from coffee_maker.types import Decision, DecisionKind, PermissionRequest, Question, Request

_RULE_RE = re.compile(r"^(?P<tool>[A-Za-z0-9_.:*-]+)(?:\((?P<spec>.*)\))?$")


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
        """The engine rule: a command regex for Bash, a path glob for file tools."""
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


class RuleDecider:
    """A decision callback: deny rules first, then allow rules, anything else denied.

    A question gets ``answer`` when one is set, otherwise a "no answer" denial. With
    ``settings`` (the configured ``[rules]``), what no --allow/--deny rule decides goes to
    them, part by part; a verdict that needs a person is a denial (nobody is asked).
    """

    def __init__(self, allow: Sequence[str] = (), deny: Sequence[str] = (), *, answer: str | None = None,
                 cwd: Path | None = None, settings: object | None = None, test_command: str | None = None) -> None:
        from coffee_maker.config.rules import RulesSettings
        from coffee_maker.rules.engine import RuleEngine

        self.answer = answer
        self.cwd = cwd
        overrides = compile_rules(allow, deny)
        base = settings if settings is not None else RulesSettings(
            permissions=[], escalate=[], question_risks=[], questions=[], default_permission="deny")
        self.engine = RuleEngine(base, root=cwd or Path.cwd(), test_command=test_command, overrides=overrides)

    def __call__(self, request: Request) -> Decision:
        if isinstance(request, Question):
            if self.answer:
                return Decision(kind=DecisionKind.ANSWER, answer=self.answer, method="rule:--answer")
            return Decision(kind=DecisionKind.DENY, message="No one is available to answer; use your best judgement.",
                            method="rule:no-answer")
        decision = self.engine.evaluate(request)
        if decision.method == "default":
            return Decision(kind=DecisionKind.DENY, method="rule:default-deny",
                            message=f"{request.tool} is not allowed here (no --allow rule matches).")
        if decision.kind is DecisionKind.ASK:
            return Decision(DecisionKind.DENY, method=decision.method, risk=decision.risk, reason=decision.reason,
                            message="This needs a person's decision, and nobody is asked during `agent run`.")
        if decision.kind is DecisionKind.DENY and decision.method.startswith("rule:deny:"):
            return Decision(DecisionKind.DENY, method=decision.method, message=f"Denied by rule "
                            f"{decision.method.removeprefix('rule:deny:')}.", risk=decision.risk)
        return decision
