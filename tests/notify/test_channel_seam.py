"""The Channel seam: the escalator calls withdraw, follow_up and close directly; what a channel does
not override is the base's (a follow-up is a plain notice, nothing to withdraw or close)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from coffee_maker.notify.channels import Channel
from coffee_maker.notify.cli import CliChannel
from coffee_maker.notify.desktop import ActionableDesktopChannel, PlyerDesktopChannel
from coffee_maker.notify.escalator import RESUME_NOTE, Escalation, Escalator
from coffee_maker.notify.inbox import Inbox, PendingQuestion
from coffee_maker.notify.sink import MemorySink
from coffee_maker.notify.slack import SlackChannel
from coffee_maker.notify.terminal import TerminalChannel
from coffee_maker.notify.webhooks import AppriseChannel
from coffee_maker.testing.channels import AnsweringChannel, RecordingChannel, ScriptedPerson


class LivePrompt(RecordingChannel):
    """A channel with buttons: it records what it was asked to take down."""

    live_prompts = True

    def __init__(self) -> None:
        super().__init__("live")
        self.withdrawn: list[tuple[str, str]] = []

    def withdraw(self, question: PendingQuestion, note: str) -> None:
        self.withdrawn.append((question.id, note))


@pytest.mark.parametrize("cls", [CliChannel, AppriseChannel, PlyerDesktopChannel, ActionableDesktopChannel,
                                 TerminalChannel, SlackChannel, RecordingChannel, AnsweringChannel])
def test_a_channel_withdraws_exactly_when_it_has_live_prompts(cls: type[Channel]) -> None:
    """The escalator withdraws on ``live_prompts`` channels only: the flag and the method go together."""
    assert Channel in cls.__mro__, f"{cls.__name__} does not subclass Channel"
    assert ("withdraw" in vars(cls)) == cls.live_prompts, cls.__name__


def test_a_stopping_daemon_withdraws_live_prompts_only(tmp_path: Path) -> None:
    """Only the channel with a live prompt is asked to withdraw it (and counted); the others are left alone."""
    inbox, sink, stop = Inbox(tmp_path / "inbox.db"), MemorySink(), threading.Event()
    live, plain = LivePrompt(), RecordingChannel("plain")
    escalator = Escalator(inbox, [live, plain], timeout_s=60, stop=stop, sink=sink)
    out: list[Escalation] = []
    thread = threading.Thread(target=lambda: out.append(escalator.ask(
        "Allow git push?", kind="permission", options=["yes", "no"], safe_default="no")))
    thread.start()
    assert live.asked_event.wait(30) and plain.asked_event.wait(30)
    stop.set()
    thread.join(timeout=30)
    assert out[0].stopped
    assert live.withdrawn == [(out[0].question_id, RESUME_NOTE)]
    withdrawals = [(channel, ok) for channel, kind, ok, _ in sink.notifications if kind == "withdraw"]
    assert withdrawals == [("live", True)]
    assert plain.resolved == [] and plain.informed == []


def test_a_follow_up_without_threads_is_a_plain_notice(tmp_path: Path) -> None:
    """An invalid answer's re-prompt reaches a channel without threads as an ``inform`` of kind reprompt."""
    inbox = Inbox(tmp_path / "inbox.db")
    person = ScriptedPerson(inbox, ["maybe", "yes"])
    result = Escalator(inbox, [person], timeout_s=30).ask(
        "Allow git push?", kind="permission", options=["yes", "no"], safe_default="no")
    assert result.answer == "yes"
    assert [kind for kind, _ in person.informed] == ["reprompt"]
    assert "'maybe' is not one of yes, no" in person.informed[0][1]


def test_close_reaches_every_channel_and_a_failing_one_does_not_stop_the_rest(tmp_path: Path) -> None:
    """``close`` is called on each channel; the base's does nothing, one that raises is logged and skipped."""
    closed: list[str] = []

    class Holding(RecordingChannel):
        def close(self) -> None:
            closed.append(self.name)
            if self.name == "first":
                raise OSError("socket already gone")

    inbox = Inbox(tmp_path / "inbox.db")
    Escalator(inbox, [Holding("first"), RecordingChannel(), Holding("second")], timeout_s=30).close()
    assert closed == ["first", "second"]
