"""The one rule type for permissions, and the question rules — validated once, at load.

A permission rule says which tool it applies to and what it matches on the request's
subject (see ``subject.py``): a regex on each simple command (``command``), a glob on the
paths it reads or writes (``path``, ``access``, ``inside_repo``) or a built-in check
(``check``: code the rules cannot read, environment dumps, credential variables…). A
rule with a risk ``class`` is checked before every allow rule, learned ones included.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from coffee_maker.types import RiskClass, Severity

FACTS = ("tests_passed", "changes_valid", "branch_ready", "files_modified", "branch", "priority")
FILE_TOOLS = ("Read", "Edit", "Write", "MultiEdit", "NotebookEdit", "Glob", "Grep", "LS")
KNOWN_TOOLS = frozenset({
    "Bash", "Read", "Edit", "Write", "MultiEdit", "NotebookEdit", "Glob", "Grep", "LS", "WebFetch", "WebSearch",
    "TodoWrite", "Task", "ExitPlanMode", "BashOutput", "KillShell", "AskUserQuestion", "SlashCommand",
    "NotebookRead", "*"})
#: Built-in checks a rule can name in ``check`` (implemented in ``checks.py``).
CHECKS = ("opaque-code", "shell-from-pipe", "env-dump", "secret-variable", "upload", "writes-outside",
          "reads-outside", "unknown-path", "build-output", "secret-search", "lifecycle-script", "unparseable", "defines-function",
          "bare-assignment", "shaping-assignment", "secret-assignment", "shaping-prefix", "secret-test")


def _check_regex(rule: str, field: str, pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"rule {rule!r} has a bad regular expression in `{field}` ({pattern!r}: {exc})") from None


def unknown_tools(tool: str) -> list[str]:
    """Names in a rule's ``tool`` that are neither Claude Code tools nor MCP tools (``mcp__…``)."""
    return sorted(t for t in (p.strip() for p in tool.split("|")) if t not in KNOWN_TOOLS and not t.startswith("mcp__"))


class PermissionRule(BaseModel):
    """Tool + what the request touches → allow, deny or ask, with the class and reason a person sees."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str
    tool: str = Field(description="Tool name, several separated by '|', or '*'.")
    command: str | None = Field(None, description="Bash: regex searched in each simple command (wrappers removed).")
    path: str | None = Field(None, description="Glob on a path the request touches, relative to the worktree ('**' ok).")
    access: Literal["read", "write"] | None = Field(None, description="With path/inside_repo: only reads or writes.")
    inside_repo: bool | None = Field(None, description="Match only paths inside (true) / outside (false) the worktree.")
    check: str | None = Field(None, description=f"A built-in check: {', '.join(CHECKS)}.")
    decision: Literal["allow", "deny", "ask"]
    risk: RiskClass | None = Field(None, alias="class", description="Risk class; checked before every allow rule.")
    reason: str | None = Field(None, description="Why: shown to the person (and to the agent when denied).")
    severity: Severity | None = Field(None, description="high: answered only from the terminal or `coffee-maker answer`.")
    message: str | None = Field(None, description="Older name for reason.")
    saved_by: str | None = Field(None, description="Who saved this rule from an 'always allow' answer.")
    saved_at: str | None = None

    @model_validator(mode="after")
    def _valid(self) -> PermissionRule:
        """Bad regexes, unknown tools and unknown checks fail at load, naming the rule — not at the first request."""
        unknown = [t for t in unknown_tools(self.tool) if not t.startswith("mcp__")]
        if unknown:
            raise ValueError(f"rule {self.name!r} names unknown tools {unknown} in `tool`; known: "
                             f"{', '.join(sorted(KNOWN_TOOLS))} or mcp__…")
        if self.command is not None:
            _check_regex(self.name, "command", self.command)
        if self.check is not None and self.check not in CHECKS:
            raise ValueError(f"rule {self.name!r} names an unknown `check` {self.check!r}; known: {', '.join(CHECKS)}")
        return self

    @property
    def why(self) -> str | None:
        return self.reason or self.message

    def effective_severity(self) -> Severity:
        from coffee_maker.types import HIGH_SEVERITY_CLASSES

        if self.severity is not None:
            return self.severity
        return Severity.HIGH if self.risk in HIGH_SEVERITY_CLASSES and self.decision == "ask" else Severity.NORMAL


class QuestionRule(BaseModel):
    """A regex on the question → an answer, when the facts match."""

    model_config = ConfigDict(extra="forbid")

    name: str
    pattern: str
    answer: str
    when: dict[str, Any] = Field(default_factory=dict, description=f"Facts that must hold: {', '.join(FACTS)}.")

    @model_validator(mode="after")
    def _valid(self) -> QuestionRule:
        _check_regex(self.name, "pattern", self.pattern)
        unknown = sorted(set(self.when) - set(FACTS))
        if unknown:
            raise ValueError(f"rule {self.name!r} uses unknown facts {unknown} in `when`; known: {', '.join(FACTS)}")
        return self


class QuestionRisk(BaseModel):
    """A risky object a question can mention: any match sends the question to a person, whatever else it asks."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str
    pattern: str
    risk: RiskClass = Field(alias="class")
    reason: str
    severity: Severity | None = None

    @model_validator(mode="after")
    def _valid(self) -> QuestionRisk:
        _check_regex(self.name, "pattern", self.pattern)
        return self

    def effective_severity(self) -> Severity:
        from coffee_maker.types import HIGH_SEVERITY_CLASSES

        return self.severity or (Severity.HIGH if self.risk in HIGH_SEVERITY_CLASSES else Severity.NORMAL)


_LIST_NAMES = {"permissions": "[[rules.permissions]]", "extra_permissions": "[[rules.extra_permissions]]",
               "questions": "[[rules.questions]]", "extra_questions": "[[rules.extra_questions]]",
               "question_risks": "[[rules.question_risks]]"}


def explain_rule_error(loc: list[str], msg: str, values: dict[str, Any]) -> str | None:
    """A sentence naming the rule and the field for a validation error under ``[rules]``, else None."""
    if len(loc) < 3 or loc[0] != "rules" or loc[1] not in _LIST_NAMES or not loc[2].isdigit():
        return None
    index = int(loc[2])
    items = (values.get("rules") or {}).get(loc[1]) or []
    raw = items[index] if index < len(items) and isinstance(items[index], dict) else {}
    name = raw.get("name")
    who = f"Rule {name!r}" if name else f"Rule #{index + 1}"
    where = f"{_LIST_NAMES[loc[1]]} #{index + 1}"
    detail = re.sub(r"^rule '[^']*' ", "", msg.removeprefix("Value error, "))
    if len(loc) > 3:
        return f"{who} ({where}): field `{'.'.join(loc[3:])}` — {detail}."
    return f"{who} ({where}): {detail}."
