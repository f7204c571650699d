"""Rule evaluation: a request's subject + facts → allow / deny / answer / ask, with the rule, class and reason.

Pure and compiled once. A shell command is parsed (``shell.py``) and each simple command
judged on its subject (``subject.py``); the riskiest verdict wins, so `pytest && git push`
is not allowed because pytest is. Rules with a risk class are checked first over every
part; a learned "always allow" applies only when none of them matched. Questions from the
agent are judged by ``questions.QuestionJudge``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coffee_maker.rules.checks import COMMAND_CHECKS, REQUEST_CHECKS, ROOTED, inert
from coffee_maker.rules.globs import glob_regex
from coffee_maker.rules.index import RuleIndex
from coffee_maker.rules.model import PermissionRule, QuestionRule
from coffee_maker.rules.paths import PathUse
from coffee_maker.rules.questions import QuestionJudge
from coffee_maker.rules.subject import CommandSubject, Subject, SubjectBuilder, command_of
from coffee_maker.types import (
    Decision,
    DecisionKind,
    DecisionSource,
    PermissionRequest,
    Question,
    Severity,
    SourceKind,
)

_RANK = {"allow": 0, "ask": 1, "deny": 2}
_KIND = {"allow": DecisionKind.ALLOW, "deny": DecisionKind.DENY, "ask": DecisionKind.ASK}


@dataclass(frozen=True)
class Compiled:
    rule: PermissionRule
    tools: frozenset[str]
    command: re.Pattern[str] | None
    path: re.Pattern[str] | None
    learned: bool = False

    def applies_to(self, tool: str) -> bool:
        return "*" in self.tools or tool in self.tools or any(
            "*" in t and fnmatch.fnmatchcase(tool, t) for t in self.tools)

    def path_matches(self, use: PathUse) -> bool:
        if self.rule.access is not None and use.write != (self.rule.access == "write"):
            return False
        if self.rule.inside_repo is not None and use.inside != self.rule.inside_repo:
            return False
        if self.path is not None:
            resolved = use.resolved.replace("*", "") if "*" in use.raw else use.resolved  # `.env*` may be `.env`
            return bool(self.path.match(resolved.lstrip("/")) or self.path.match(resolved))
        return True


@dataclass(frozen=True, slots=True)
class PartVerdict:
    """One simple command (or the whole request) and the rule that decided it, if any."""

    part: str
    rule: PermissionRule | None


@dataclass
class Judgement:
    """How a request was judged: its subject, each part's verdict, the decision."""

    subject: Subject
    parts: list[PartVerdict] = field(default_factory=list)
    decision: Decision = field(default_factory=lambda: Decision(DecisionKind.ASK))


class RuleEngine:
    """Compiled rules; ``evaluate`` is pure (request + facts → Decision, ASK when a person is needed)."""

    def __init__(self, settings: Any, *, root: Path, test_command: str | None = None,
                 learned: Sequence[PermissionRule] = (), overrides: Sequence[PermissionRule] = ()) -> None:
        """``overrides`` (`agent run --deny/--allow`) come before everything, risk classes included."""
        self.root = root
        self.settings = settings
        self.subjects = SubjectBuilder(root)
        configured = [*settings.extra_permissions, *settings.permissions]
        classed = [*(self._compile(r) for r in overrides), *(self._compile(r) for r in configured if r.risk is not None)]
        plain: list[Compiled] = []
        if test_command and settings.allow_test_command:
            plain.append(self._compile(PermissionRule(
                name="configured-test-command", tool="Bash", decision="allow",
                command="^" + re.escape(" ".join(test_command.split())) + r"(\s|$)")))
        plain += [self._compile(r) for r in settings.extra_permissions if r.risk is None]
        self.learned = [self._compile(r, learned=True) for r in learned]
        plain += [self._compile(r) for r in settings.permissions if r.risk is None]
        self.classed, self.plain = classed, plain
        self._by_tool: dict[tuple[str, bool], list[Compiled]] = {}
        self._request_by_tool: dict[tuple[str, bool], list[Compiled]] = {}
        self._weights: dict[int, tuple[PermissionRule, tuple[int, int, int]]] = {}
        self._indexes: dict[bool, tuple[list[Compiled], RuleIndex, list[Callable[[CommandSubject], bool]]]] = {}
        self.questions = QuestionJudge(settings)

    def _compile(self, rule: PermissionRule, *, learned: bool = False) -> Compiled:
        tools = frozenset(t.strip() for t in rule.tool.split("|"))
        return Compiled(rule, tools, re.compile(rule.command) if rule.command else None,
                        glob_regex(rule.path) if rule.path else None, learned)

    def _rules(self, tool: str, classed: bool) -> list[Compiled]:
        key = (tool, classed)
        if key not in self._by_tool:
            self._by_tool[key] = [c for c in (self.classed if classed else self.plain) if c.applies_to(tool)]
        return self._by_tool[key]

    def _request_rules(self, tool: str, classed: bool) -> list[Compiled]:
        """The rules judged on the whole request: for the shell only those with a request-level check."""
        key = (tool, classed)
        if key not in self._request_by_tool:
            self._request_by_tool[key] = [c for c in self._rules(tool, classed)
                                          if tool != "Bash" or c.rule.check in REQUEST_CHECKS]
        return self._request_by_tool[key]

    def _tester(self, c: Compiled) -> Callable[[CommandSubject], bool]:
        """The quickest test of one rule on one part."""
        rule, root = c.rule, self.subjects.root
        plain_check = rule.check is not None and c.command is None and c.path is None and rule.inside_repo is None \
            and rule.access is None
        if plain_check and rule.check in COMMAND_CHECKS:
            check = COMMAND_CHECKS[str(rule.check)]
            return check if rule.check not in ROOTED else lambda cmd: check(cmd, root)
        if c.command is not None and rule.check is None and c.path is None and rule.inside_repo is None \
                and rule.access is None:
            search = c.command.search
            return lambda cmd: search(cmd.text) is not None
        return lambda cmd: self._matches_command(c, cmd)

    def _index(self, classed: bool) -> tuple[list[Compiled], RuleIndex, list[Callable[[CommandSubject], bool]]]:
        """The shell's command rules (request-level checks left out) and their index, built once."""
        if classed not in self._indexes:
            rules = [c for c in self._rules("Bash", classed) if c.rule.check not in REQUEST_CHECKS]
            def kind(c: Compiled) -> str:
                r = c.rule
                if r.check is None and r.path is None and r.inside_repo is None and r.access is None and r.command:
                    return "command"
                if r.check is None and r.command is None and r.path is not None:
                    return "path"
                return "other"
            index = RuleIndex.build(rules, [kind(c) for c in rules], [c.rule.command for c in rules],
                                    [c.rule.path for c in rules],
                                    [c.rule.access for c in rules], [c.rule.inside_repo for c in rules],
                                    [c.rule.check in COMMAND_CHECKS for c in rules])
            self._indexes[classed] = (rules, index, [self._tester(c) for c in rules])
        return self._indexes[classed]

    # ------------------------------------------------------------------ permissions

    def subject(self, request: PermissionRequest) -> Subject:
        if request.tool == "Bash":
            return self.subjects.shell_subject(command_of(request.input) or "")
        return self.subjects.file_subject(request.tool, request.input)

    def _matches_command(self, c: Compiled, cmd: CommandSubject) -> bool:
        if c.command is not None and not c.command.search(cmd.text):
            return False
        if c.rule.check is not None:
            check = COMMAND_CHECKS.get(c.rule.check)
            if check is None or not check(cmd, self.subjects.root):
                return False
        if c.path is not None or c.rule.inside_repo is not None or c.rule.access is not None:
            return any(c.path_matches(p) for p in cmd.paths)
        return True

    def _matches_request(self, c: Compiled, subject: Subject, tool_input: Mapping[str, Any]) -> bool:
        if c.command is not None:
            return False
        if c.rule.check is not None:
            check = REQUEST_CHECKS.get(c.rule.check)
            if check is None or not check(subject, tool_input):
                return False
        if c.path is not None or c.rule.inside_repo is not None or c.rule.access is not None:
            if not subject.paths:  # Glob/Grep without a path search the worktree
                return c.path is None and c.rule.inside_repo is True and subject.tool in ("Glob", "Grep", "LS")
            return all(c.path_matches(p) for p in subject.paths) if c.rule.access is None and c.path is None \
                else any(c.path_matches(p) for p in subject.paths)
        return True

    def judge(self, request: PermissionRequest) -> Judgement:
        """Every part's verdict and the decision, for `rules explain` and ``permission``."""
        subject = self.subject(request)
        judgement = Judgement(subject)
        tool = request.tool
        if tool != "Bash":
            rule = self._first_request(tool, subject, request.input, classed=True)
            if rule is None:
                rule = next((c.rule for c in self.learned if c.applies_to(tool) and c.path is not None
                             and all(c.path_matches(p) for p in subject.paths)), None)
            if rule is None:
                rule = self._first_request(tool, subject, request.input, classed=False)
            judgement.parts.append(PartVerdict(tool, rule))
            judgement.decision = self._decision(rule, tool)
            return judgement
        whole = self._first_request(tool, subject, request.input, classed=True)
        if whole is not None:
            judgement.parts.append(PartVerdict(subject.summary, whole))
        inert_parts = [inert(cmd) for cmd in subject.commands]  # most parts: no built-in check needs to run
        classed = self._first_commands(subject.commands, inert_parts, classed=True)
        if whole is None and not any(classed):
            command = subject.summary.strip()
            learned = next((c.rule for c in self.learned if c.applies_to(tool) and c.command is not None
                            and c.command.search(command)), None)
            if learned is not None:
                judgement.parts.append(PartVerdict(command, learned))
                judgement.decision = self._decision(learned, f"`{command}`")
                return judgement
        undecided = [i for i, rule in enumerate(classed) if rule is None]
        plain = self._first_commands([subject.commands[i] for i in undecided], [inert_parts[i] for i in undecided],
                                     classed=False)
        unclassed = iter(plain)
        for cmd, rule in zip(subject.commands, classed, strict=True):
            judgement.parts.append(PartVerdict(cmd.source.text, rule if rule is not None else next(unclassed)))
        if not judgement.parts:  # nothing runs: `FOO=1` on its own, an empty line — only the whole can be judged
            judgement.parts.append(PartVerdict(subject.summary, self._first_request(tool, subject, request.input,
                                                                                     classed=False)))
        worst = max(reversed(judgement.parts), key=self._weight)  # among equals the last part: `cd x && pytest`
        judgement.decision = self._decision(worst.rule, f"`{worst.part}`")
        return judgement

    def _weight(self, verdict: PartVerdict) -> tuple[int, int, int]:
        """Deny over ask over allow; among equals, a named risk over a plain rule, high severity first."""
        rule = verdict.rule
        if rule is None:
            return _RANK[self.settings.default_permission], 0, 0
        known = self._weights.get(id(rule))  # a 4 KB command has ~200 parts, most decided by the same few rules
        if known is not None and known[0] is rule:
            return known[1]
        weight = (_RANK[rule.decision], int(rule.risk is not None), int(rule.effective_severity() is Severity.HIGH))
        self._weights[id(rule)] = (rule, weight)
        return weight

    def _first_commands(self, cmds: Sequence[CommandSubject], inert_parts: Sequence[bool], *, classed: bool
                        ) -> list[PermissionRule | None]:
        """The first rule of the classed (or plain) shell rules deciding each part, None where none does."""
        rules, index, testers = self._index(classed)
        first = index.first
        return [rules[found].rule if (found := first(cmd, testers, quiet)) is not None else None
                for cmd, quiet in zip(cmds, inert_parts, strict=True)]

    def _first_request(self, tool: str, subject: Subject, tool_input: Mapping[str, Any], *, classed: bool
                       ) -> PermissionRule | None:
        for c in self._request_rules(tool, classed):
            if self._matches_request(c, subject, tool_input):
                return c.rule
        return None

    def permission(self, request: PermissionRequest) -> Decision:
        return self.judge(request).decision

    def _decision(self, rule: PermissionRule | None, what: str) -> Decision:
        if rule is None:
            kind = DecisionKind.ASK if self.settings.default_permission == "ask" else DecisionKind.DENY
            return Decision(kind, message=f"No rule allows {what}.", source=DecisionSource(SourceKind.DEFAULT),
                            reason=f"No rule decides {what}, so a person is asked.")
        kind = _KIND[rule.decision]
        why = rule.why
        message = why or (f"Denied by the rule {rule.name!r}." if kind is DecisionKind.DENY else None)
        return Decision(kind, message=message, source=DecisionSource.rule(rule.name),
                        risk=rule.risk.value if rule.risk else None,
                        reason=f"{why} ({what})" if why and what.startswith("`") else why,
                        severity=rule.effective_severity().value)

    def evaluate(self, request: PermissionRequest | Question, facts: Mapping[str, Any] | None = None) -> Decision:
        if isinstance(request, PermissionRequest):
            return self.permission(request)
        return self.questions.decide(request, facts or {})


__all__ = ["Compiled", "Judgement", "PartVerdict", "QuestionRule", "RuleEngine"]
