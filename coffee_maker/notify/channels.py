"""The Channel protocol: how the escalator reaches a person, one module per channel.

A channel shows a pending question (``ask``), updates or withdraws it once it is
answered anywhere (``resolve``), and carries one-way notices (``inform``: a
re-prompt after an invalid answer, a timeout alert). Channels with a live prompt
may also have ``withdraw(question, note)``: the daemon is stopping, take the
prompt down (the question comes back when it resumes). It may raise — no desktop
session, a webhook down, Slack unreachable — and the escalator logs and skips it.
Channels that take answers write them into the inbox; the first one wins.
"""

from __future__ import annotations

import threading
from typing import Protocol

from coffee_maker.notify.inbox import PendingQuestion


class Channel(Protocol):
    name: str

    def ask(self, question: PendingQuestion) -> None: ...
    def resolve(self, question: PendingQuestion, answer: str, who: str) -> None: ...
    def inform(self, message: str, *, kind: str = "info") -> None: ...


class Notifier(Protocol):
    """What the daemon tells a person on every channel (the Escalator); ``stop`` ends its waits for answers."""

    stop: threading.Event

    def inform(self, message: str, *, priority: str | None = None, kind: str = "info") -> None: ...
    def close(self) -> None: ...


def question_text(q: PendingQuestion) -> str:
    """The question as plain text for one-way channels, with the exact command that answers it."""
    options = " / ".join(q.options) if q.options else "any text"
    return (f"{q.text}\n\nPriority: {q.priority or '-'} · options: {options} · "
            f"safe default after timeout: {q.safe_default}\nAnswer from any shell: {q.answer_command()}")


def in_words(seconds: float) -> str:
    """A wait as a person reads it: "40 s", "3 min", "1 h 5 min" — never "0 min" for a wait under a minute."""
    total = max(1, round(seconds))
    if total < 60:
        return f"{total} s"
    minutes = round(total / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
