"""Rule evaluation: a permission request or a question + facts → allow / deny / answer / ask.

Pure and compiled once: 200 rules decide in microseconds. Shell commands are
split into their parts (`a && b; c | d $(e)`); each part is judged and the
riskiest verdict wins, so `pytest && git push` is not allowed because pytest is.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coffee_maker.config.rules import (
    FACTS,
    PermissionRule,
    RulesSettings,
    unknown_tools,
)
from coffee_maker.errors import ConfigError
from coffee_maker.types import Decision, DecisionKind, PermissionRequest, Question

_SEVERITY = {"allow": 0, "ask": 1, "deny": 2}
_SPLIT = re.compile(r"\|\||&&|;|\||\n|&(?!>)")
_SUBSHELL = re.compile(r"\$\(([^()]*)\)|`([^`]*)`")
_ENV_PREFIX = re.compile(r"^(\w+=\S*\s+)+")
_OUTSIDE = PermissionRule(name="path-outside-repo", tool="Bash", decision="ask",
                          message="The command touches a path outside the repository.")


@dataclass(frozen=True)
class _Compiled:
    rule: PermissionRule
    tools: frozenset[str]
    command: re.Pattern[str] | None
    path: re.Pattern[str] | None


def _glob_regex(glob: str) -> re.Pattern[str]:
    """`**/x` matches at any depth (including the top); `*` stays within a path segment."""
    out, i = "", 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif glob.startswith("**", i):
            out, i = out + ".*", i + 2
        elif glob[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif glob[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(glob[i]), i + 1
    return re.compile(f"^{out}$")


def split_command(command: str) -> list[str]:
    """The simple commands inside a shell command line, subshells included."""
    parts: list[str] = []
    for match in _SUBSHELL.finditer(command):
        parts.extend(split_command(match.group(1) or match.group(2) or ""))
    for piece in _SPLIT.split(_SUBSHELL.sub(" ", command)):
        piece = _ENV_PREFIX.sub("", piece.strip()).strip("( )")
        if piece:
            parts.append(piece)
    return parts


class RuleEngine:
    """Compiled rules; ``evaluate`` is pure (request + facts → Decision, ASK when a person is needed)."""

    def __init__(self, settings: RulesSettings, *, root: Path, test_command: str | None = None,
                 learned: Sequence[PermissionRule] = ()) -> None:
        self.root = root
        self.settings = settings
        rules = [*learned, *settings.extra_permissions, *settings.permissions]
        if test_command and settings.allow_test_command:
            rules.insert(0, PermissionRule(name="configured-test-command", tool="Bash", decision="allow",
                                           command="^" + re.escape(test_command.strip()) + r"(\s|$)"))
        self.permissions = [self._compile(r) for r in rules]
        self._real_root = Path(os.path.realpath(self.root))
        self._by_tool: dict[str, list[_Compiled]] = {}  # tool → its rules in order, built on first use
        self.questions = [(q, self._regex(q.name, q.pattern)) for q in [*settings.extra_questions, *settings.questions]]
        for q, _ in self.questions:
            unknown = set(q.when) - set(FACTS)
            if unknown:
                raise ConfigError(f"Question rule {q.name!r} uses unknown facts {sorted(unknown)}; known: {', '.join(FACTS)}.")
        self.escalations = [self._regex(f"escalate[{i}]", p) for i, p in enumerate(settings.escalate)]

    @staticmethod
    def _regex(name: str, pattern: str) -> re.Pattern[str]:
        try:
            return re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise ConfigError(f"Rule {name!r} has a bad regular expression {pattern!r}: {exc}.") from None

    def _compile(self, rule: PermissionRule) -> _Compiled:
        tools = frozenset(t.strip() for t in rule.tool.split("|"))
        unknown = unknown_tools(rule.tool)
        if unknown:
            raise ConfigError(f"Permission rule {rule.name!r} names unknown tools {unknown}.")
        return _Compiled(rule, tools, self._regex(rule.name, rule.command) if rule.command else None,
                         _glob_regex(rule.path) if rule.path else None)

    # ------------------------------------------------------------------ permissions

    def _paths(self, tool_input: Mapping[str, Any]) -> list[str]:
        return [str(tool_input[k]) for k in ("file_path", "path", "notebook_path") if tool_input.get(k)]

    def _relative(self, raw: str) -> tuple[str, bool]:
        """(path relative to the repo — or absolute when outside, inside?)."""
        expanded = os.path.expanduser(raw)
        full = Path(os.path.realpath(expanded if os.path.isabs(expanded) else self.root / expanded))
        root = self._real_root
        if full == root or full.is_relative_to(root):
            return full.relative_to(root).as_posix() if full != root else ".", True
        return full.as_posix(), False

    def _match_one(self, c: _Compiled, tool: str, command: str | None, paths: list[tuple[str, bool]]) -> bool:
        if "*" not in c.tools and tool not in c.tools:
            return False
        if c.command is not None and (command is None or not c.command.search(command)):
            return False
        if c.path is not None or c.rule.inside_repo is not None:
            if not paths:
                return c.path is None and c.rule.inside_repo is True and tool in ("Glob", "Grep", "LS")
            for rel, inside in paths:
                if c.rule.inside_repo is not None and inside != c.rule.inside_repo:
                    return False
                if c.path is not None and not c.path.match(rel.lstrip("/")) and not c.path.match(rel):
                    return False
        return True

    def _first(self, tool: str, command: str | None, paths: list[tuple[str, bool]]) -> PermissionRule | None:
        rules = self._by_tool.get(tool)
        if rules is None:
            rules = self._by_tool[tool] = [c for c in self.permissions if "*" in c.tools or tool in c.tools]
        return next((c.rule for c in rules if self._match_one(c, tool, command, paths)), None)

    def permission(self, request: PermissionRequest) -> Decision:
        tool, tool_input = request.tool, request.input
        if tool == "Bash":
            command = str(tool_input.get("command", ""))
            verdicts = []
            for part in split_command(command) or [command]:
                rule = self._first(tool, part, [])
                if rule is not None and rule.decision == "allow" and self._leaves_repo(part):
                    rule = _OUTSIDE
                verdicts.append((part, rule))
            worst = max(verdicts, key=lambda v: _SEVERITY[v[1].decision] if v[1] else _SEVERITY[self.settings.default_permission])
            return self._decision(worst[1], f"`{worst[0]}`")
        paths = [self._relative(p) for p in self._paths(tool_input)]
        return self._decision(self._first(tool, None, paths), tool)

    def _leaves_repo(self, part: str) -> bool:
        """Does an otherwise allowed command name a path outside the repository?"""
        for word in shell_words(part)[1:]:
            word = word.split("=", 1)[-1].lstrip("<>")
            if word in ("/dev/null", "-") or not (word.startswith(("/", "~")) or ".." in word):
                continue
            if not self._relative(word)[1]:
                return True
        return False

    def _decision(self, rule: PermissionRule | None, what: str) -> Decision:
        if rule is None:
            kind = DecisionKind.ASK if self.settings.default_permission == "ask" else DecisionKind.DENY
            return Decision(kind, message=f"No rule allows {what}.", method="default")
        kind = {"allow": DecisionKind.ALLOW, "deny": DecisionKind.DENY, "ask": DecisionKind.ASK}[rule.decision]
        message = rule.message or (f"Denied by the rule {rule.name!r}." if kind is DecisionKind.DENY else None)
        return Decision(kind, message=message, method=f"rule:{rule.name}")

    # ------------------------------------------------------------------ questions

    def question(self, question: Question, facts: Mapping[str, Any]) -> Decision:
        text = question.text
        for i, pattern in enumerate(self.escalations):
            if pattern.search(text):
                return Decision(DecisionKind.ASK, method=f"escalate:{self.settings.escalate[i]}")
        for rule, pattern in self.questions:
            if pattern.search(text) and all(facts.get(k) == v for k, v in rule.when.items()):
                return Decision(DecisionKind.ANSWER, answer=rule.answer, method=f"rule:{rule.name}")
        if self.settings.default_question != "ask":
            return Decision(DecisionKind.ANSWER, answer=self.settings.default_question, method="default")
        return Decision(DecisionKind.ASK, method="default")

    def evaluate(self, request: PermissionRequest | Question, facts: Mapping[str, Any] | None = None) -> Decision:
        if isinstance(request, PermissionRequest):
            return self.permission(request)
        return self.question(request, facts or {})


def shell_words(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()
