"""Claude Code-style permission rules for `agent run`."""

from __future__ import annotations

from pathlib import Path

import pytest

from coffee_maker.errors import UsageError
from coffee_maker.rules.claude_syntax import RuleDecider, ToolRule
from coffee_maker.types import DecisionKind, PermissionRequest, Question


def bash(command: str) -> PermissionRequest:
    return PermissionRequest(tool="Bash", input={"command": command})


class TestToolRule:
    def test_bare_tool(self) -> None:
        """`Write` matches any Write call and nothing else."""
        rule = ToolRule.parse("Write")
        assert rule.matches(PermissionRequest(tool="Write", input={"file_path": "/x"}))
        assert not rule.matches(bash("ls"))

    def test_prefix(self) -> None:
        """`Bash(pytest:*)` matches pytest and pytest with arguments, not pytestx."""
        rule = ToolRule.parse("Bash(pytest:*)")
        assert rule.matches(bash("pytest")) and rule.matches(bash("pytest -q tests"))
        assert not rule.matches(bash("pytestx")) and not rule.matches(bash("rm -rf /"))

    def test_path_glob_relative_to_cwd(self, tmp_path: Path) -> None:
        """`Edit(src/**)` matches files under src of the working directory."""
        rule = ToolRule.parse("Edit(src/**)")
        assert rule.matches(PermissionRequest(tool="Edit", input={"file_path": str(tmp_path / "src/a/b.py")}), tmp_path)
        assert not rule.matches(PermissionRequest(tool="Edit", input={"file_path": str(tmp_path / "x.py")}), tmp_path)

    def test_bad_rule(self) -> None:
        """A malformed rule is a usage error."""
        with pytest.raises(UsageError):
            ToolRule.parse("Bash(")


class TestRuleDecider:
    def test_deny_beats_allow_and_default_is_deny(self) -> None:
        """Deny rules win; anything unmatched is denied with a message."""
        decide = RuleDecider(allow=["Bash"], deny=["Bash(rm:*)"])
        assert decide(bash("ls")).kind is DecisionKind.ALLOW
        assert decide(bash("rm -rf x")).kind is DecisionKind.DENY
        other = decide(PermissionRequest(tool="WebFetch", input={"url": "http://x"}))
        assert other.kind is DecisionKind.DENY and "no --allow rule" in (other.message or "")

    def test_questions(self) -> None:
        """Questions get --answer, or a denial telling the agent to decide."""
        assert RuleDecider(answer="yes")(Question(text="?")).answer == "yes"
        assert RuleDecider()(Question(text="?")).kind is DecisionKind.DENY


class TestPartByPart:
    def test_an_allowed_prefix_does_not_carry_a_chain(self) -> None:
        """`Bash(pytest:*)` allows the pytest part only: `pytest && rm -rf ~` is not allowed (it was, as a prefix)."""
        decide = RuleDecider(allow=["Bash(pytest:*)"])
        assert decide(bash("pytest -q")).kind is DecisionKind.ALLOW
        assert decide(bash("pytest -q && rm -rf ~")).kind is DecisionKind.DENY
        assert decide(bash("cd sub && pytest")).kind is DecisionKind.DENY  # `cd` has no --allow rule

    def test_with_the_configured_rules_each_part_goes_on_to_them(self, tmp_path: Path) -> None:
        """What --allow does not decide is judged by the configured rules, part by part."""
        from coffee_maker.config.rules import RulesSettings

        decide = RuleDecider(allow=["Bash(mytool:*)"], settings=RulesSettings(), cwd=tmp_path)
        assert decide(bash("cd sub && mytool run | tail -5")).kind is DecisionKind.ALLOW
        pushed = decide(bash("mytool run && git push"))
        assert pushed.kind is DecisionKind.DENY and pushed.source.label() == "rule:git-push"

    def test_a_pattern_on_another_tool_is_refused(self) -> None:
        """Only Bash and file tools take a pattern; anything else is a usage error, not a silent miss."""
        with pytest.raises(UsageError, match="only Bash"):
            ToolRule.parse("WebFetch(https://x/*)")


class TestQuestionsWithTheConfiguredRules:
    def test_the_configured_question_rules_answer_and_a_person_s_question_is_refused(self, tmp_path: Path) -> None:
        """Without --answer, the configured rules answer a question; one that needs a person is a denial that
        names the configured rule (nobody is asked during `agent run`), never the bare "no answer"."""
        from coffee_maker.config.rules import RulesSettings

        answering = RuleDecider(settings=RulesSettings(default_question="carry on"), cwd=tmp_path)
        answered = answering(Question(text="Which colour should the button be?"))
        assert (answered.kind, answered.answer, answered.source.label()) == (DecisionKind.ANSWER, "carry on", "default")
        refused = RuleDecider(settings=RulesSettings(), cwd=tmp_path)(Question(text="Which colour should it be?"))
        assert refused.kind is DecisionKind.DENY and refused.source.label() == "default"
        assert "nobody is asked during `agent run`" in (refused.message or "")
        bare = RuleDecider(cwd=tmp_path)(Question(text="Which colour should it be?"))
        assert bare.source.label() == "rule:no-answer" and "best judgement" in (bare.message or "")

    def test_a_deny_rule_names_itself_in_the_denial(self, tmp_path: Path) -> None:
        """`--deny Bash(rm:*)` tells the model which rule refused it."""
        denied = RuleDecider(allow=["Bash"], deny=["Bash(rm:*)"], cwd=tmp_path)(bash("rm -rf build"))
        assert denied.kind is DecisionKind.DENY and denied.message == "Denied by rule Bash(rm:*)."
        assert denied.source.label() == "rule:deny:Bash(rm:*)"
