"""The Channel protocol: how the escalator reaches a person, one module per channel.

A channel shows a pending question (``ask``), updates or withdraws it once it is
answered anywhere (``resolve``), and carries one-way notices (``inform``: a
re-prompt after an invalid answer, a timeout alert). Any call may raise — no
desktop session, a webhook down, Slack unreachable — and the escalator logs and
skips it. Channels that take answers write them into the inbox; the first one wins.

Every channel subclasses ``Channel`` and so inherits what a channel with nothing
special to do does for the rest: a ``follow_up`` is a plain notice, there is no
live prompt to ``withdraw``, nothing to ``close``.
"""

from __future__ import annotations

import threading
from typing import ClassVar, Protocol

from coffee_maker.notify.inbox import PendingQuestion


class Channel(Protocol):
    name: str
    #: Its prompts can be answered in place (buttons, a prompt line): when the daemon stops they would
    #: answer nobody, so the escalator calls ``withdraw`` on such channels, and only on them.
    live_prompts: ClassVar[bool] = False

    def ask(self, question: PendingQuestion) -> None: ...
    def resolve(self, question: PendingQuestion, answer: str, who: str) -> None: ...
    def inform(self, message: str, *, kind: str = "info") -> None: ...

    def follow_up(self, question: PendingQuestion, message: str, *, kind: str) -> None:
        """A notice about one question (answer again, timed out): in its thread where the channel has
        threads; here, a plain notice."""
        self.inform(message, kind=kind)

    def withdraw(self, question: PendingQuestion, note: str) -> None:
        """The daemon stops: take the live prompt down, saying the question ``note`` (it comes back on resume)."""
        return None

    def close(self) -> None:
        """Let go of what the channel holds (a connection, a thread); most hold nothing."""
        return None


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
