"""The CLI channel: questions wait in the inbox for `coffee-maker answer ID VALUE` from any shell."""

from __future__ import annotations

import structlog

from coffee_maker.notify.channels import Channel
from coffee_maker.notify.inbox import PendingQuestion

log = structlog.get_logger(__name__)


class CliChannel(Channel):
    """Questions wait in the inbox for `coffee-maker answer`; this channel just says so in the log."""

    name = "cli"

    def ask(self, question: PendingQuestion) -> None:
        log.warning("question waiting for a person", id=question.id, question=question.text,
                    options=list(question.options), answer_with=question.answer_command())

    def resolve(self, question: PendingQuestion, answer: str, who: str) -> None:
        log.info("question answered", id=question.id, answer=answer, by=who)

    def inform(self, message: str, *, kind: str = "info") -> None:
        log.info(message, notice=kind)
