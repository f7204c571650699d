"""[rules] — how the MessageHandler answers permission requests and questions.

Order matters: escalation patterns and question risks are checked first (they always
reach a person), then rules. For permissions, every rule with a risk class is checked
over every part of a shell command first; then your rules, the learned "always allow"
rules and the shipped ones, first match wins. The riskiest part's verdict wins.
The rule types and the shipped rules live in ``coffee_maker.rules``.
"""

from __future__ import annotations

import functools
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from coffee_maker.rules.defaults import risky_permission_rules
from coffee_maker.rules.model import (
    CHECKS,
    FACTS,
    FILE_TOOLS,
    KNOWN_TOOLS,
    PermissionRule,
    QuestionRisk,
    QuestionRule,
    _check_regex,
    unknown_tools,
)
from coffee_maker.rules.routine import (
    default_question_rules,
    question_risks,
    routine_permission_rules,
)

__all__ = ["CHECKS", "FACTS", "FILE_TOOLS", "KNOWN_TOOLS", "PermissionRule", "QuestionRisk", "QuestionRule",
           "RulesSettings", "default_escalations", "default_permission_rules", "default_question_rules",
           "question_risks", "unknown_tools"]


@functools.cache
def _shipped_rules() -> tuple[PermissionRule, ...]:
    """Validated once per process: configuration is read at every attempt, the shipped rules never change."""
    return (*risky_permission_rules(), *routine_permission_rules())


def default_permission_rules() -> list[PermissionRule]:
    return list(_shipped_rules())


def default_escalations() -> list[str]:
    return [r"\bapi[\s_-]?keys?\b", r"\bcredential", r"\b(password|secret|token)s?\b", r"\bdelete\b.*\bproduction\b",
            r"\bproduction\b.*\bdelete\b", r"\bdrop\s+(table|database)\b", r"\bbreaking change", r"\bmerge\b.*\b(main|master)\b"]


class RulesSettings(BaseModel):
    """Rules the MessageHandler applies before asking a person."""

    model_config = ConfigDict(extra="forbid")

    escalate: list[str] = Field(default_factory=default_escalations,
                                description="Question regexes that always go to a person (checked first).")
    question_risks: list[QuestionRisk] = Field(default_factory=question_risks,
                                               description="Risky objects a question can name: a person decides.")
    permissions: list[PermissionRule] = Field(default_factory=default_permission_rules,
                                              description="Permission rules (classed ones first), first match wins.")
    extra_permissions: list[PermissionRule] = Field(default_factory=list,
                                                    description="Your rules, checked before the defaults.")
    questions: list[QuestionRule] = Field(default_factory=default_question_rules)
    extra_questions: list[QuestionRule] = Field(default_factory=list, description="Your question rules, checked first.")
    allow_test_command: bool = Field(True, description="Allow the configured [git] test_command.")
    default_question: Literal["ask"] | str = Field("ask", description="Unmatched question: 'ask' a person, or this answer.")
    default_permission: Literal["ask", "deny"] = Field("ask", description="Unmatched permission request.")
    timeout_answer: str = Field("no", description="Safe answer to a question nobody answered in time.")
    high_severity_channels: list[str] = Field(
        default_factory=lambda: ["terminal", "cli"],
        description="Where a high-severity request may be answered (terminal, cli = `coffee-maker answer`); "
                    "add slack/desktop to allow their buttons too.")

    @field_validator("escalate")
    @classmethod
    def _valid_escalations(cls, patterns: list[str]) -> list[str]:
        for i, pattern in enumerate(patterns):
            _check_regex(f"escalate[{i}]", "escalate", pattern)
        return patterns
