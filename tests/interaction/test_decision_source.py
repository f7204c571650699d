"""Where a decision came from (typed, one written form) and one way of describing what a call touches."""

from __future__ import annotations

from pathlib import Path

import pytest

from coffee_maker.daemon.record import AttemptRecord
from coffee_maker.interaction.handler import describe
from coffee_maker.interaction.learned import LearnedRules
from coffee_maker.roadmap import parse_roadmap
from coffee_maker.rules.subject import main_path, relative_to, summary_of
from coffee_maker.types import Decision, DecisionKind, DecisionSource, PermissionRequest, SourceKind

SOURCES = [
    (DecisionSource.rule("run-tests"), "rule:run-tests"),
    (DecisionSource.rule("deny:Bash(rm:*)"), "rule:deny:Bash(rm:*)"),
    (DecisionSource.escalate("(?i)credential"), "escalate:(?i)credential"),
    (DecisionSource.person("slack", "U123"), "person:slack:U123"),
    (DecisionSource.person("web", "Ada:Lovelace"), "person:web:Ada:Lovelace"),
    (DecisionSource(SourceKind.TIMEOUT), "timeout_default"),
    (DecisionSource(SourceKind.DEFAULT), "default"),
    (DecisionSource(SourceKind.STOPPED), "stopped"),
    (DecisionSource(SourceKind.CALLBACK_TIMEOUT), "callback_timeout"),
    (DecisionSource(SourceKind.CALLBACK_ERROR), "callback_error"),
    (DecisionSource(SourceKind.OTHER, detail="test"), "test"),
]


class TestDecisionSource:
    @pytest.mark.parametrize(("source", "label"), SOURCES, ids=[label for _, label in SOURCES])
    def test_label_is_the_written_form_and_parse_reads_it_back(self, source: DecisionSource, label: str) -> None:
        """Each kind is written as the logs always wrote it, and a stored label gives the same source back."""
        assert source.label() == str(source) == label
        assert DecisionSource.parse(label) == source

    def test_a_label_of_no_known_kind_is_kept_as_written(self) -> None:
        """`timeout_default:x` or `rulebook` are not stretched into a kind: they stay a label of their own."""
        for label in ("timeout_default:x", "rulebook", "", "other"):
            parsed = DecisionSource.parse(label)
            assert parsed.kind is SourceKind.OTHER and parsed.label() == label

    def test_name_rule_name_and_whether_a_person_was_asked(self) -> None:
        """`name` drops the kind; only a person's answer or the safe default standing in for one was escalated."""
        assert DecisionSource.rule("run-tests").rule_name == "run-tests" == DecisionSource.rule("run-tests").name
        assert DecisionSource.person("cli", "sam").name == "cli:sam" and DecisionSource.person("cli", "sam").rule_name is None
        assert DecisionSource.escalate("secret").name == "secret" and DecisionSource(SourceKind.DEFAULT).name == "default"
        asked = {label for source, label in SOURCES if source.asked_a_person}
        assert asked == {"person:slack:U123", "person:web:Ada:Lovelace", "timeout_default"}

    def test_a_decision_without_a_source_has_an_empty_label(self) -> None:
        """As `method=""` was: a decision built without saying where it came from is written as nothing."""
        assert Decision(DecisionKind.ALLOW).source.label() == ""
        assert DecisionSource(SourceKind.RULE).label() == "rule:"  # a kind that names something, named nothing


class TestOneDescriptionOfACall:
    def test_relative_to_the_root_as_given_or_its_real_path(self, tmp_path: Path) -> None:
        """A path under the worktree, spelt through a symlink or not, is shown relative to it; others as they are."""
        real = tmp_path / "real"
        real.mkdir()
        link = tmp_path / "link"
        link.symlink_to(real)
        assert relative_to(f"{real}/src/app.py", link) == "src/app.py" == relative_to(f"{link}/src/app.py", link)
        assert relative_to(f"{real}x/app.py", real) == f"{real}x/app.py"  # a sibling that shares a prefix
        assert relative_to("/etc/hosts", real) == "/etc/hosts" and relative_to("/etc/hosts", None) == "/etc/hosts"
        assert relative_to(f"{real}/a", "") == f"{real}/a"

    def test_the_person_the_saved_rule_and_the_dev_log_see_the_same_call(self, tmp_path: Path) -> None:
        """One Edit of `<worktree>/src/app.py`: asked as src/app.py, saved as src/app.py, logged as src/app.py."""
        request = PermissionRequest("Edit", {"file_path": f"{tmp_path}/src/app.py", "old_string": "a"})
        priority = parse_roadmap("## PRIORITY 1: One\n**Status**: 📝 Planned\n").priorities[0]
        record = AttemptRecord(priority, 1, "coffee-maker/p1")
        note = record.note_decision(request, Decision(DecisionKind.ALLOW, source=DecisionSource.rule("edits")),
                                    str(tmp_path))
        rule = LearnedRules(tmp_path / "learned.toml").rule_for(request, "cli:sam", tmp_path)
        assert describe(request, tmp_path) == "Allow Edit: src/app.py"
        assert note.request == "Edit: src/app.py" and rule.path == "src/app.py"
        assert summary_of(request.input, tmp_path) == main_path(request.input, tmp_path) == "src/app.py"
        assert note.line() == "Edit src/app.py → allowed by rule edits"
