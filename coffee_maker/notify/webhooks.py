"""One-way webhooks and email through apprise: the question plus the exact `coffee-maker answer` command.

Why one-way: Discord/Teams/ntfy/SMTP cannot call back into a laptop daemon; the
message tells the person how to answer from a shell (or another channel).
"""

from __future__ import annotations

import structlog

from coffee_maker.notify.channels import Channel, question_text
from coffee_maker.notify.inbox import PendingQuestion

log = structlog.get_logger(__name__)


class AppriseChannel(Channel):
    """One-way webhooks and email (Discord, Teams, ntfy, SMTP…) through apprise."""

    name = "apprise"

    def __init__(self, urls: list[str]) -> None:
        import apprise

        self.apprise = apprise.Apprise()
        for url in urls:
            if not self.apprise.add(url):
                log.warning("apprise could not use a URL; check its format", url=url.split("://")[0] + "://…")

    def _send(self, title: str, body: str) -> None:
        if not self.apprise.notify(title=title, body=body):
            raise RuntimeError("apprise reported that no notification was delivered")

    def ask(self, question: PendingQuestion) -> None:
        self._send(f"coffee-maker needs you: {question.priority or ''}", question_text(question))

    def resolve(self, question: PendingQuestion, answer: str, who: str) -> None:
        self._send("coffee-maker: question answered", f"[{question.id}] {question.text}\n→ {answer} (by {who})")

    def inform(self, message: str, *, kind: str = "info") -> None:
        self._send("coffee-maker", message)
