"""Permission rules in Claude Code's own syntax, for `coffee-maker agent run --allow/--deny`.

Why here and not in ``interaction/``: the one-shot command needs a tiny, dependency-free
matcher; the daemon's MessageHandler has the full rule engine. Syntax:

* ``Write`` — every call of the tool;
* ``Bash(pytest:*)`` — a Bash command that is ``pytest`` or starts with ``pytest ``;
* ``Bash(git status)`` — exactly that command (``*`` and ``?`` are wildcards);
* ``Edit(src/**)`` — a file tool whose ``file_path`` (relative to the working
  directory when inside it) matches the glob.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coffee_maker.errors import UsageError
from coffee_maker.types import Decision, DecisionKind, PermissionRequest, Question

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
        return cls(tool=match.group("tool"), spec=match.group("spec"))

    def matches(self, request: PermissionRequest, cwd: Path | None = None) -> bool:
        if not fnmatch.fnmatchcase(request.tool, self.tool):
            return False
        if self.spec is None or self.spec in ("", "*"):
            return True
        subject = _subject(request.tool, request.input, cwd)
        if subject is None:
            return False
        if self.spec.endswith(":*"):
            prefix = self.spec[:-2]
            return subject == prefix or subject.startswith(prefix + " ")
        return fnmatch.fnmatchcase(subject, self.spec) or (
            "**" in self.spec and fnmatch.fnmatchcase(subject, self.spec.replace("**/", "")))

    def __str__(self) -> str:
        return self.tool if self.spec is None else f"{self.tool}({self.spec})"


def _subject(tool: str, tool_input: Mapping[str, Any], cwd: Path | None) -> str | None:
    if "command" in tool_input:
        return str(tool_input["command"]).strip()
    for key in ("file_path", "notebook_path", "path", "url", "pattern"):
        if key in tool_input:
            value = str(tool_input[key])
            if cwd is not None and key.endswith("path"):
                try:
                    value = str(Path(value).resolve().relative_to(cwd.resolve()))
                except ValueError:
                    pass
            return value
    return None


class RuleDecider:
    """A decision callback: deny rules first, then allow rules, anything else denied.

    A question gets ``answer`` when one is set, otherwise a "no answer" denial.
    """

    def __init__(self, allow: Sequence[str] = (), deny: Sequence[str] = (), *, answer: str | None = None,
                 cwd: Path | None = None) -> None:
        self.allow = [ToolRule.parse(r) for r in allow]
        self.deny = [ToolRule.parse(r) for r in deny]
        self.answer = answer
        self.cwd = cwd

    def __call__(self, request: PermissionRequest | Question) -> Decision:
        if isinstance(request, Question):
            if self.answer:
                return Decision(kind=DecisionKind.ANSWER, answer=self.answer, method="rule:--answer")
            return Decision(kind=DecisionKind.DENY, message="No one is available to answer; use your best judgement.",
                            method="rule:no-answer")
        for rule in self.deny:
            if rule.matches(request, self.cwd):
                return Decision(kind=DecisionKind.DENY, method=f"rule:deny:{rule}",
                                message=f"Denied by rule {rule}.")
        for rule in self.allow:
            if rule.matches(request, self.cwd):
                return Decision(kind=DecisionKind.ALLOW, method=f"rule:allow:{rule}")
        return Decision(kind=DecisionKind.DENY, method="rule:default-deny",
                        message=f"{request.tool} is not allowed here (no --allow rule matches).")
