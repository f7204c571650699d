"""MessageHandler: rule decisions, facts, escalation, the safe default, the log, the sink, learned rules."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from coffee_maker.config import load_config
from coffee_maker.errors import ConfigError
from coffee_maker.interaction.facts import Facts, FactsView
from coffee_maker.interaction.handler import build_message_handler, build_rule_engine
from coffee_maker.interaction.learned import LearnedRules
from coffee_maker.notify.escalator import Escalator
from coffee_maker.notify.inbox import Inbox
from coffee_maker.notify.sink import InteractionSink, MemorySink
from coffee_maker.testing.channels import AnsweringChannel
from coffee_maker.types import DecisionKind, PermissionRequest, Question

FIELDS = {"timestamp", "priority", "phase", "interaction_type", "question", "context", "response", "response_method",
          "user_notified", "channels", "response_time_seconds", "timed_out"}




def _records(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for p in sorted((tmp_path / "interaction_logs").glob("*.jsonl"))
            for line in p.read_text().splitlines()]


def _handler(tmp_path: Path, channels: Sequence[Any] = (), *, timeout_s: float = 30, sink: Any = None,
             facts: FactsView | None = None) -> Any:
    loaded = load_config(tmp_path)
    escalator = Escalator(Inbox(loaded.state_dir / "inbox.db"), list(channels), timeout_s=timeout_s)
    return build_message_handler(loaded, escalator=escalator, sink=sink, priority="PRIORITY 3",
                                 facts=(facts if facts is not None else {}).copy)


class TestMessageHandler:
    def test_rule_allows_and_logs_a_permission(self, tmp_path: Path) -> None:
        """A routine command is allowed by rule, with the rule as method, and logged as a permission."""
        sink = MemorySink()
        decision = _handler(tmp_path, sink=sink).decide(PermissionRequest("Bash", {"command": "pytest -q"}))
        assert decision.kind is DecisionKind.ALLOW and decision.source.label() == "rule:tests" and decision.latency_s >= 0
        [record] = _records(tmp_path)
        assert FIELDS <= set(record)
        assert record["interaction_type"] == "permission" and record["response"] == "allow"
        assert record["user_notified"] is False and sink.interactions == [record]

    def test_facts_set_by_the_attempt_answer_a_question(self, tmp_path: Path) -> None:
        """'continue?' is answered yes once the daemon sets tests_passed."""
        facts = Facts({"tests_passed": False})
        handler = _handler(tmp_path, facts=facts)
        facts.update(tests_passed=True)
        decision = handler.decide(Question("Tests passed. Should I continue?"))
        assert (decision.kind, decision.answer, decision.source.label()) == (DecisionKind.ANSWER, "yes",
                                                                     "rule:continue-if-tests-pass")
        record = _records(tmp_path)[0]
        assert record["interaction_type"] == "auto_response" and record["context"]["tests_passed"] is True

    def test_escalation_goes_to_a_person_first(self, tmp_path: Path) -> None:
        """An API-key question reaches a person even though the continue-rule would match."""
        loaded = load_config(tmp_path)
        inbox = Inbox(loaded.state_dir / "inbox.db")
        channel = AnsweringChannel(inbox, "no")
        handler = build_message_handler(loaded, escalator=Escalator(inbox, [channel], timeout_s=30),
                                        facts=lambda: {"tests_passed": True})
        decision = handler.decide(Question("I need the API key, continue?", options=("yes", "no")))
        assert decision.answer == "no" and decision.source.label() == "person:fake:alice"
        assert channel.asked[0].rank > 0
        record = _records(tmp_path)[0]
        assert record["interaction_type"] == "user_response" and record["channels"] == ["fake"]

    def test_no_answer_uses_the_safe_default(self, tmp_path: Path) -> None:
        """A permission nobody answers is denied, flagged timed out, logged as timeout."""
        decision = _handler(tmp_path, timeout_s=0.2).decide(PermissionRequest("WebFetch", {"url": "https://x"}))
        assert decision.kind is DecisionKind.DENY and decision.timed_out and decision.source.label() == "timeout_default"
        assert _records(tmp_path)[0]["timed_out"] is True

    def test_unanswered_question_gets_no(self, tmp_path: Path) -> None:
        """An unmatched question times out to the configured safe answer."""
        decision = _handler(tmp_path, timeout_s=0.2).decide(Question("Which colour?"))
        assert decision.answer == "no" and decision.timed_out
        assert _records(tmp_path)[0]["interaction_type"] == "timeout_default"

    def test_secrets_are_redacted_in_the_log(self, tmp_path: Path) -> None:
        """Tokens in a tool input never reach the interaction log or the sink."""
        sink = MemorySink()
        token = "ghp_" + "a1B2" * 9
        _handler(tmp_path, sink=sink).decide(PermissionRequest("Bash", {"command": f"echo {token}"}))
        text = "\n".join(p.read_text() for p in (tmp_path / "interaction_logs").glob("*.jsonl"))
        assert token not in text and "[REDACTED]" in text
        assert token not in json.dumps(sink.interactions)

    def test_memory_sink_matches_the_protocol(self) -> None:
        """The shipped sink satisfies InteractionSink."""
        assert isinstance(MemorySink(), InteractionSink)


class TestLearnedRules:
    def test_always_saves_a_rule_with_who_and_when(self, tmp_path: Path) -> None:
        """'always' allows now, appends a rule to learned_rules.toml, and the next load allows without asking."""
        loaded = load_config(tmp_path)
        inbox = Inbox(loaded.state_dir / "inbox.db")
        handler = build_message_handler(loaded, escalator=Escalator(inbox, [AnsweringChannel(inbox, "always")],
                                                                    timeout_s=30))
        request = PermissionRequest("Bash", {"command": "docker compose up -d"})
        assert handler.decide(request).kind is DecisionKind.ALLOW
        text = (loaded.state_dir / "learned_rules.toml").read_text()
        assert "[[permissions]]" in text and 'saved_by = "alice"' in text and "saved_at" in text
        again = build_rule_engine(load_config(tmp_path)).evaluate(request)
        assert again.kind is DecisionKind.ALLOW and again.source.label().startswith("rule:learned-bash-")
        other = build_rule_engine(load_config(tmp_path)).evaluate(PermissionRequest("Bash", {"command": "docker rm x"}))
        assert other.kind is not DecisionKind.ALLOW

    def test_two_saved_rules_both_load(self, tmp_path: Path) -> None:
        """The file is appended to, never rewritten."""
        learned = LearnedRules(tmp_path / "learned_rules.toml")
        learned.add(PermissionRequest("Bash", {"command": "make a"}), "bob")
        learned.add(PermissionRequest("Edit", {"file_path": "docs/x.md"}), "carol")
        assert [r.saved_by for r in learned.load()] == ["bob", "carol"]

    def test_a_broken_file_is_a_config_error(self, tmp_path: Path) -> None:
        """A hand-edited file with a bad regex names the file."""
        path = tmp_path / "learned_rules.toml"
        path.write_text('[[permissions]]\nname = "x"\ntool = "Bash"\ncommand = "(("\ndecision = "allow"\n')
        with pytest.raises(ConfigError, match="learned_rules.toml"):
            LearnedRules(path).load()


class TestLearnedPaths:
    def test_absolute_path_inside_the_repo_is_saved_relative(self, tmp_path: Path) -> None:
        """A learned file rule matches the next request for the same file, however it is spelled."""
        learned = LearnedRules(tmp_path / ".coffee_maker" / "learned_rules.toml")
        rule = learned.add(PermissionRequest("WebFetch", {"path": str(tmp_path / "docs" / "a.md")}), "bob", tmp_path)
        assert rule.path == "docs/a.md"
