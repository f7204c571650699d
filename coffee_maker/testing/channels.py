"""In-memory notification channels: a person who records, answers at once, answers from a script, or is unreachable."""

from __future__ import annotations

import threading

from coffee_maker.notify.channels import Channel
from coffee_maker.notify.inbox import Inbox, PendingQuestion


class RecordingChannel(Channel):
    """Records what it was asked and told; answers nothing by itself."""

    def __init__(self, name: str = "rec") -> None:
        self.name = name
        self.asked: list[PendingQuestion] = []
        self.resolved: list[tuple[str, str, str]] = []
        self.informed: list[tuple[str, str]] = []
        self.asked_event = threading.Event()

    def ask(self, question: PendingQuestion) -> None:
        self.asked.append(question)
        self.asked_event.set()

    def resolve(self, question: PendingQuestion, answer: str, who: str) -> None:
        self.resolved.append((question.id, answer, who))

    def inform(self, message: str, *, kind: str = "info") -> None:
        self.informed.append((kind, message))


class BrokenChannel(RecordingChannel):
    """Slack unreachable, no desktop session: every call raises."""

    def ask(self, question: PendingQuestion) -> None:
        raise ConnectionError("unreachable")

    def inform(self, message: str, *, kind: str = "info") -> None:
        raise ConnectionError("unreachable")


class ScriptedPerson(RecordingChannel):
    """Answers each prompt (and each re-prompt) with the next value of ``answers``."""

    def __init__(self, inbox: Inbox, answers: list[str], name: str = "person") -> None:
        super().__init__(name)
        self.inbox = inbox
        self.answers = list(answers)
        self._current: str | None = None

    def _next(self) -> None:
        if self._current and self.answers:
            self.inbox.answer(self._current, self.answers.pop(0), who="pat", channel=self.name)

    def ask(self, question: PendingQuestion) -> None:
        super().ask(question)
        self._current = question.id
        self._next()

    def inform(self, message: str, *, kind: str = "info") -> None:
        super().inform(message, kind=kind)
        if kind == "reprompt":
            self._next()


class AnsweringChannel(Channel):
    """A channel whose person answers every question at once with ``value``."""

    name = "fake"

    def __init__(self, inbox: Inbox, value: str, who: str = "alice") -> None:
        self.inbox, self.value, self.who = inbox, value, who
        self.asked: list[PendingQuestion] = []

    def ask(self, question: PendingQuestion) -> None:
        self.asked.append(question)
        threading.Thread(target=self.inbox.answer, args=(question.id, self.value),
                         kwargs={"who": self.who, "channel": self.name}).start()

    def resolve(self, question: PendingQuestion, answer: str, who: str) -> None:
        return None

    def inform(self, message: str, *, kind: str = "info") -> None:
        return None
