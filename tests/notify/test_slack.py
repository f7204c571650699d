"""Slack against the shipped fake: Block Kit buttons, Socket Mode ack, chat.update, refused users, thread replies."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from coffee_maker.config.notify import SlackSettings
from coffee_maker.notify.escalator import Escalation, Escalator
from coffee_maker.notify.inbox import Inbox
from coffee_maker.notify.slack import SlackChannel
from coffee_maker.testing.fake_slack import FakeSlack


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def _channel(slack: FakeSlack, inbox: Inbox, poll: float = 0.0) -> SlackChannel:
    settings = SlackSettings(channel="C1", allowed_users=["UALICE"], base_url=slack.base_url, poll_replies_s=poll)
    return SlackChannel(inbox, settings, bot_token="xoxb-test", app_token="xapp-test")


def _ask_in_thread(escalator: Escalator) -> tuple[threading.Thread, list[Escalation]]:
    out: list[Escalation] = []
    thread = threading.Thread(target=lambda: out.append(escalator.ask(
        "Allow Bash: git push origin main?", kind="permission", options=("yes", "no"), safe_default="no",
        priority="PRIORITY 3")))
    thread.start()
    return thread, out


def _asked_with_reply_poller(tmp_path: Path, slack: FakeSlack
                             ) -> tuple[SlackChannel, threading.Thread, list[Escalation], str]:
    """A question posted by a channel that polls thread replies; returns its message's ts too."""
    inbox = Inbox(tmp_path / "inbox.db")
    channel = _channel(slack, inbox, poll=0.05)
    thread, out = _ask_in_thread(Escalator(inbox, [channel], timeout_s=60))
    slack.wait_for_call("conversations.replies")  # the poller reads the thread: the question is recorded
    return channel, thread, out, channel._threads[next(iter(channel._threads))]


class TestSlackChannel:
    def test_click_answers_and_updates_the_message(self, tmp_path: Path, slack: FakeSlack) -> None:
        """Buttons carry id|value; an allowed click is acked, answers, and chat.update names who answered."""
        inbox = Inbox(tmp_path / "inbox.db")
        channel = _channel(slack, inbox)
        thread, out = _ask_in_thread(Escalator(inbox, [channel], timeout_s=60))
        [post] = slack.wait_for_call("chat.postMessage")
        assert post.token == "xoxb-test" and post.args["channel"] == "C1"
        assert slack.calls_to("apps.connections.open")[0].token == "xapp-test"
        actions = next(b for b in post.args["blocks"] if b["type"] == "actions")
        values = [e["value"] for e in actions["elements"]]
        qid = values[0].split("|")[0]
        assert values == [f"{qid}|yes", f"{qid}|no", f"{qid}|skip"]
        assert "Allow Bash: git push origin main?" in post.args["blocks"][0]["text"]["text"]
        envelope = slack.click(user="UALICE", value=f"{qid}|yes")
        slack.wait_for_ack(envelope)
        thread.join(timeout=30)
        assert out[0].answer == "yes" and out[0].who == "slack:UALICE" and out[0].channel == "slack"
        [update] = slack.wait_for_call("chat.update")
        assert update.args["ts"] == slack.calls_to("chat.postMessage")[0].args.get("ts", update.args["ts"])
        assert "<@UALICE>" in update.args["blocks"][0]["text"]["text"] and "*yes*" in update.args["blocks"][0]["text"]["text"]
        channel.close()

    def test_unlisted_user_is_refused(self, tmp_path: Path, slack: FakeSlack) -> None:
        """A click by someone not in allowed_users is acked, refused ephemerally, and does not answer."""
        inbox = Inbox(tmp_path / "inbox.db")
        channel = _channel(slack, inbox)
        thread, out = _ask_in_thread(Escalator(inbox, [channel], timeout_s=60))
        [post] = slack.wait_for_call("chat.postMessage")
        qid = post.args["blocks"][1]["elements"][0]["value"].split("|")[0]
        slack.wait_for_ack(slack.click(user="UMALLORY", value=f"{qid}|yes"))
        [refusal] = slack.wait_for_call("chat.postEphemeral")
        assert refusal.args["user"] == "UMALLORY"
        got = inbox.get(qid)
        assert got is not None and got.status == "pending"
        slack.wait_for_ack(slack.click(user="UALICE", value=f"{qid}|no"))
        thread.join(timeout=30)
        assert out[0].answer == "no" and out[0].who == "slack:UALICE"
        channel.close()

    def test_thread_reply_counts(self, tmp_path: Path, slack: FakeSlack) -> None:
        """A reply in the message's thread (read with conversations.replies) answers the question."""
        channel, thread, out, ts = _asked_with_reply_poller(tmp_path, slack)
        slack.add_reply(ts, user="UMALLORY", text="yes")  # not allowed: ignored
        slack.add_reply(ts, user="UALICE", text="no")
        thread.join(timeout=30)
        assert out[0].answer == "no" and out[0].who == "slack:UALICE"
        channel.close()

    def test_invalid_reply_is_reprompted_in_the_thread(self, tmp_path: Path, slack: FakeSlack) -> None:
        """An answer that is not an option gets "answer again" in the question's thread, not the channel."""
        channel, thread, out, ts = _asked_with_reply_poller(tmp_path, slack)
        slack.add_reply(ts, user="UALICE", text="maybe")
        reprompt = slack.wait_for_call("chat.postMessage", count=2)[1]
        assert reprompt.args["thread_ts"] == ts and "'maybe' is not one of yes, no" in reprompt.args["text"]
        assert not reprompt.args.get("reply_broadcast")
        slack.add_reply(ts, user="UALICE", text="no")  # the bot's own reprompt in the thread is not an answer
        thread.join(timeout=30)
        assert out[0].answer == "no" and out[0].who == "slack:UALICE"
        channel.close()

    def test_timeout_notice_goes_to_the_thread_and_the_channel(self, tmp_path: Path, slack: FakeSlack) -> None:
        """Nobody answers: the message shows the safe default, and the notice is a broadcast thread reply."""
        inbox = Inbox(tmp_path / "inbox.db")
        channel = _channel(slack, inbox)
        result = Escalator(inbox, [channel], timeout_s=0.3).ask("continue?", kind="question", options=("yes", "no"),
                                                               safe_default="no")
        assert result.timed_out and result.answer == "no"
        question_post, notice = slack.calls_to("chat.postMessage")
        [update] = slack.calls_to("chat.update")
        assert notice.args["thread_ts"] == update.args["ts"] and notice.args["reply_broadcast"] is True
        assert "used the safe default: no" in notice.args["text"] and "thread_ts" not in question_post.args
        channel.close()

    def test_unreachable_slack_is_skipped(self, tmp_path: Path) -> None:
        """Slack down: the channel fails, the escalator falls through to the safe default without crashing."""
        inbox = Inbox(tmp_path / "inbox.db")
        settings = SlackSettings(channel="C1", base_url="http://127.0.0.1:9/api/", poll_replies_s=0)
        channel = SlackChannel(inbox, settings, bot_token="xoxb-test", app_token="xapp-test")
        result = Escalator(inbox, [channel], timeout_s=0.3).ask("continue?", kind="question", options=("yes", "no"),
                                                               safe_default="no")
        assert result.timed_out and result.answer == "no" and result.channels == ()


class TestRateLimitsAndLabels:
    def test_a_rate_limited_post_is_retried_after_retry_after(self, tmp_path: Path, slack: FakeSlack) -> None:
        """chat.postMessage answers 429 with Retry-After: 1; the question is posted after that wait, not lost."""
        slack.rate_limit("chat.postMessage", times=1, retry_after=1)
        inbox = Inbox(tmp_path / "inbox.db")
        channel = _channel(slack, inbox)
        escalator = Escalator(inbox, [channel], timeout_s=60)
        thread, out = _ask_in_thread(escalator)
        [post] = slack.wait_for_call("chat.postMessage")
        [refused] = slack.refused
        assert refused.method == "chat.postMessage" and post.at - refused.at >= 1.0  # Slack's Retry-After honoured
        qid = post.args["blocks"][1]["elements"][0]["value"].split("|")[0]
        slack.wait_for_ack(slack.click(user="UALICE", value=f"{qid}|yes"))
        thread.join(timeout=30)
        assert out[0].answer == "yes" and out[0].channels == ("slack",)
        escalator.close()

    def test_server_errors_are_retried_for_every_call(self, tmp_path: Path, slack: FakeSlack) -> None:
        """A 503 on the post and on the update after the answer: both calls are retried and arrive."""
        slack.fail("chat.postMessage", status=503)
        slack.fail("chat.update", status=500)
        inbox = Inbox(tmp_path / "inbox.db")
        channel = _channel(slack, inbox)
        thread, out = _ask_in_thread(Escalator(inbox, [channel], timeout_s=60))
        [post] = slack.wait_for_call("chat.postMessage")
        qid = post.args["blocks"][1]["elements"][0]["value"].split("|")[0]
        slack.wait_for_ack(slack.click(user="UALICE", value=f"{qid}|no"))
        thread.join(timeout=30)
        [update] = slack.wait_for_call("chat.update")
        assert "*no*" in update.args["blocks"][0]["text"]["text"]
        assert [c.method for c in slack.refused] == ["chat.postMessage", "chat.update"]
        channel.close()

    def test_button_labels_are_the_options_as_given(self, tmp_path: Path, slack: FakeSlack) -> None:
        """FORECAST_API_KEY stays FORECAST_API_KEY on its button; the added Skip is labelled Skip."""
        inbox = Inbox(tmp_path / "inbox.db")
        channel = _channel(slack, inbox)
        result: list[Escalation] = []
        thread = threading.Thread(target=lambda: result.append(Escalator(inbox, [channel], timeout_s=60).ask(
            "Which key?", kind="question", options=("FORECAST_API_KEY", "offline"), safe_default="offline")))
        thread.start()
        [post] = slack.wait_for_call("chat.postMessage")
        buttons = post.args["blocks"][1]["elements"]
        assert [b["text"]["text"] for b in buttons] == ["FORECAST_API_KEY", "offline", "Skip"]
        qid = buttons[0]["value"].split("|")[0]
        slack.wait_for_ack(slack.click(user="UALICE", value=f"{qid}|FORECAST_API_KEY"))
        thread.join(timeout=30)
        assert result[0].answer == "FORECAST_API_KEY"
        channel.close()

    def test_a_token_never_reaches_slack(self, tmp_path: Path, slack: FakeSlack) -> None:
        """The question's message, its fallback text and the answered update show [REDACTED], not the token."""
        token = "ghp_" + "Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8"
        inbox = Inbox(tmp_path / "inbox.db")
        channel = _channel(slack, inbox)
        out: list[Escalation] = []
        thread = threading.Thread(target=lambda: out.append(Escalator(inbox, [channel], timeout_s=60).ask(
            f"Allow Bash: git push https://x:{token}@github.com/o/r", kind="permission", options=("yes", "no"),
            safe_default="no")))
        thread.start()
        [post] = slack.wait_for_call("chat.postMessage")
        qid = post.args["blocks"][1]["elements"][0]["value"].split("|")[0]
        slack.wait_for_ack(slack.click(user="UALICE", value=f"{qid}|no"))
        thread.join(timeout=30)
        [update] = slack.wait_for_call("chat.update")
        seen = json.dumps([post.args, update.args])
        assert token not in seen and "[REDACTED]" in seen
        channel.close()

    def test_a_stopping_daemon_takes_its_buttons_down(self, tmp_path: Path, slack: FakeSlack) -> None:
        """SIGTERM while a question waits on Slack: the message loses its buttons and says it will come back."""
        inbox = Inbox(tmp_path / "inbox.db")
        channel = _channel(slack, inbox)
        stop = threading.Event()
        escalator = Escalator(inbox, [channel], timeout_s=60, stop=stop)
        thread, out = _ask_in_thread(escalator)
        [post] = slack.wait_for_call("chat.postMessage")
        stop.set()
        thread.join(timeout=30)
        assert out[0].stopped
        [update] = slack.wait_for_call("chat.update")
        assert update.args["ts"] == post.args.get("ts", update.args["ts"])
        assert all(b["type"] != "actions" for b in update.args["blocks"])
        assert "will be asked again when the daemon resumes" in update.args["blocks"][0]["text"]["text"]
        escalator.close()
