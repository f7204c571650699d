"""Questions from the agent, judged by their objects first: a risky one reaches a person, a routine one is answered.

Compiled once per engine from the `[rules]` settings: the question risks (a question naming secrets, a protected
branch, skipped tests… goes to a person whatever routine verb it also holds), then the `escalate` patterns, then
the question rules that answer by themselves when their facts hold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from coffee_maker.errors import ConfigError
from coffee_maker.rules.model import FACTS, QuestionRisk
from coffee_maker.types import (
    Decision,
    DecisionKind,
    DecisionSource,
    Question,
    Severity,
    SourceKind,
)


def compile_pattern(name: str, pattern: str) -> re.Pattern[str]:
    """A rule's pattern, case-insensitive; a bad one is a sentence naming the rule."""
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(f"Rule {name!r} has a bad regular expression {pattern!r}: {exc}.") from None


class QuestionJudge:
    """``decide`` is pure: question + facts → ANSWER by rule, or ASK with the rule (or fallback) and reason."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.rules = [(q, compile_pattern(q.name, q.pattern)) for q in [*settings.extra_questions, *settings.questions]]
        for q, _ in self.rules:
            unknown = set(q.when) - set(FACTS)
            if unknown:
                raise ConfigError(f"Question rule {q.name!r} uses unknown facts {sorted(unknown)}; known: {', '.join(FACTS)}.")
        self.escalations = [compile_pattern(f"escalate[{i}]", p) for i, p in enumerate(settings.escalate)]
        risks: list[QuestionRisk] = list(getattr(settings, "question_risks", []))
        self.risks = [(r, compile_pattern(r.name, r.pattern)) for r in risks]

    def __len__(self) -> int:
        return len(self.rules)

    def decide(self, question: Question, facts: Mapping[str, Any]) -> Decision:
        text = question.text
        for risk, pattern in self.risks:
            if pattern.search(text):
                return Decision(DecisionKind.ASK, source=DecisionSource.rule(risk.name), risk=risk.risk.value,
                                reason=risk.reason, severity=risk.effective_severity().value)
        for i, pattern in enumerate(self.escalations):
            if pattern.search(text):
                return Decision(DecisionKind.ASK, source=DecisionSource.escalate(self.settings.escalate[i]),
                                reason="The question matches an escalation pattern.")
        for rule, pattern in self.rules:
            if pattern.search(text) and all(facts.get(k) == v for k, v in rule.when.items()):
                return Decision(DecisionKind.ANSWER, answer=rule.answer,
                                source=DecisionSource.rule(rule.name))
        if self.settings.default_question != "ask":
            return Decision(DecisionKind.ANSWER, answer=self.settings.default_question,
                            source=DecisionSource(SourceKind.DEFAULT))
        return Decision(DecisionKind.ASK, source=DecisionSource(SourceKind.DEFAULT), reason="No rule answers this question.",
                        severity=Severity.NORMAL.value)
