"""The handler's trust side: rule and reason reach the person and the log, tiers, and no risky "always"."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from coffee_maker.config import load_config
from coffee_maker.interaction.handler import build_message_handler
from coffee_maker.notify.escalator import Escalator
from coffee_maker.notify.inbox import Inbox
from coffee_maker.notify.slack import question_blocks
from coffee_maker.testing.channels import AnsweringChannel
from coffee_maker.types import DecisionKind, PermissionRequest


class NamedChannel(AnsweringChannel):
    """An answering channel with a given name (slack, cli…), remembering the notices it got."""

    def __init__(self, inbox: Inbox, value: str, name: str) -> None:
        super().__init__(inbox, value)
        self.name = name
        self.notices: list[str] = []

    def inform(self, message: str, *, kind: str = "info") -> None:
        self.notices.append(message)


def _records(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for p in sorted((tmp_path / ".coffee_maker" / "interaction_logs").glob("*.jsonl"))
            for line in p.read_text().splitlines()] or [
        json.loads(line) for p in sorted(tmp_path.rglob("interaction_logs/*.jsonl")) for line in p.read_text().splitlines()]


def _handler(tmp_path: Path, channels: list[Any], config: str = "") -> Any:
    (tmp_path / "coffee_maker.toml").write_text(config)
    loaded = load_config(tmp_path)
    escalator = Escalator(Inbox(loaded.state_dir / "inbox.db"), channels, timeout_s=30)
    return build_message_handler(loaded, escalator=escalator, priority="PRIORITY 1"), loaded


class TestTrustHandler:
    def test_person_sees_rule_class_and_reason_and_log_records_them(self, tmp_path: Path) -> None:
        """An asked request carries its rule, class and reason to the person and into the interaction log."""
        inbox = Inbox(tmp_path / "probe.db")
        channel = NamedChannel(inbox, "no", "terminal")
        handler, loaded = _handler(tmp_path, [])
        handler.escalator = Escalator(Inbox(loaded.state_dir / "inbox.db"), [channel], timeout_s=30)
        channel.inbox = handler.escalator.inbox
        decision = handler.decide(PermissionRequest("Bash", {"command": "npm run lint && gh pr create --fill"}))
        assert decision.kind is DecisionKind.DENY
        [asked] = channel.asked
        assert "Rule: forge-write (history/remote)" in asked.text and "the daemon opens" in asked.text
        [record] = _records(tmp_path)
        assert record["rule"] == "rule:forge-write" and record["risk_class"] == "history/remote"
        assert "forge" in record["reason"]

    def test_always_is_not_offered_nor_saved_for_a_risk_class(self, tmp_path: Path) -> None:
        """A risky request offers only yes/no; an "always" typed anyway allows once and saves no rule."""
        handler, loaded = _handler(tmp_path, [])
        channel = NamedChannel(Inbox(loaded.state_dir / "inbox.db"), "always", "terminal")
        handler.escalator = Escalator(channel.inbox, [channel], timeout_s=30, invalid_retries=0)
        decision = handler.decide(PermissionRequest("Bash", {"command": "docker run --privileged alpine"}))
        assert channel.asked[0].options == ("yes", "no")
        assert decision.kind is DecisionKind.DENY  # "always" is not an option here: re-asked, then the safe default
        assert not loaded.layout.learned_rules.exists()

    def test_always_saves_a_narrow_rule_for_a_judgment_call(self, tmp_path: Path) -> None:
        """An unclassed request answered "always" is saved as a rule for exactly that command."""
        handler, loaded = _handler(tmp_path, [])
        channel = NamedChannel(Inbox(loaded.state_dir / "inbox.db"), "always", "terminal")
        handler.escalator = Escalator(channel.inbox, [channel], timeout_s=30)
        request = PermissionRequest("Bash", {"command": "pip install requests"})
        assert handler.decide(request).kind is DecisionKind.ALLOW
        saved = loaded.layout.learned_rules.read_text()
        assert 'command = "^pip\\\\ install\\\\ requests$"' in saved
        again, _ = _handler(tmp_path, [])
        assert again.evaluate(request).kind is DecisionKind.ALLOW
        assert again.evaluate(PermissionRequest("Bash", {"command": "pip install requests2"})).kind is DecisionKind.ASK

    def test_high_severity_refuses_a_slack_answer_and_takes_the_terminal(self, tmp_path: Path) -> None:
        """A high-severity request answered on Slack is refused with where to answer; the CLI answer counts."""
        handler, loaded = _handler(tmp_path, [])
        inbox = Inbox(loaded.state_dir / "inbox.db")
        slack = NamedChannel(inbox, "yes", "slack")
        cli = NamedChannel(inbox, "no", "cli")
        cli.ask = lambda q: cli.asked.append(q)  # type: ignore[method-assign]  # the person answers later, below
        handler.escalator = Escalator(inbox, [slack, cli], timeout_s=30)
        original = slack.ask

        def slack_then_cli(question: Any) -> None:
            original(question)
            if len(slack.asked) == 1:
                def answer_from_cli() -> None:  # once Slack's answer was refused, the person uses the CLI
                    deadline = time.monotonic() + 20
                    while time.monotonic() < deadline and not any("high severity" in n for n in slack.notices):
                        time.sleep(0.01)
                    inbox.answer(question.id, "no", who="cli:bob", channel="cli")
                threading.Thread(target=answer_from_cli).start()
        slack.ask = slack_then_cli  # type: ignore[method-assign]
        decision = handler.decide(PermissionRequest("Bash", {"command": "kubectl apply -f deploy/prod.yaml"}))
        assert decision.kind is DecisionKind.DENY and decision.source.label() == "person:cli:bob"
        assert "High severity: answer from the terminal or `coffee-maker answer`" in slack.asked[0].text
        asked = inbox.get(slack.asked[0].id)  # the tier is the question's: the web page and Slack read it there
        assert asked is not None and asked.answer_from == ("terminal", "cli") and not asked.answers_here("slack")
        blocks = question_blocks(asked)
        assert [b["type"] for b in blocks] == ["section", "context"]  # no buttons: a click would be refused
        assert "answer from terminal or cli" in blocks[1]["elements"][0]["text"]
        assert any("high severity" in n and "slack was not used" in n for n in slack.notices)

    def test_config_can_let_slack_answer_high_severity(self, tmp_path: Path) -> None:
        """`high_severity_channels` including slack makes its answer count."""
        handler, loaded = _handler(tmp_path, [], '[rules]\nhigh_severity_channels = ["terminal", "cli", "slack"]\n')
        slack = NamedChannel(Inbox(loaded.state_dir / "inbox.db"), "yes", "slack")
        handler.escalator = Escalator(slack.inbox, [slack], timeout_s=30)
        decision = handler.decide(PermissionRequest("Bash", {"command": "kubectl apply -f deploy/prod.yaml"}))
        assert decision.kind is DecisionKind.ALLOW
