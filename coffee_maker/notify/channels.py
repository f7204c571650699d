"""The Channel protocol: how the escalator reaches a person, one module per channel.

A channel shows a pending question (``ask``), updates or withdraws it once it is
answered anywhere (``resolve``), and carries one-way notices (``inform``: a
re-prompt after an invalid answer, a timeout alert). It may raise — no desktop
session, a webhook down, Slack unreachable — and the escalator logs and skips it.
Channels that take answers write them into the inbox; the first one wins.
"""

from __future__ import annotations

from typing import Protocol

from coffee_maker.notify.inbox import PendingQuestion


class Channel(Protocol):
    name: str

    def ask(self, question: PendingQuestion) -> None: ...
    def resolve(self, question: PendingQuestion, answer: str, who: str) -> None: ...
    def inform(self, message: str, *, kind: str = "info") -> None: ...


def question_text(q: PendingQuestion) -> str:
    """The question as plain text for one-way channels, with the exact command that answers it."""
    options = " / ".join(q.options) if q.options else "any text"
    return (f"{q.text}\n\nPriority: {q.priority or '-'} · options: {options} · "
            f"safe default after timeout: {q.safe_default}\nAnswer from any shell: {q.answer_command()}")
