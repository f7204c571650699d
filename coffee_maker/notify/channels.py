"""The Channel protocol and the simple channels: CLI (the inbox itself), terminal, desktop, apprise.

A channel shows a pending question (``ask``), updates or withdraws it once it is
answered anywhere (``resolve``), and carries one-way notices (``inform``). It may
fail — no desktop session, a webhook down — and the escalator logs and skips it.
"""

from __future__ import annotations

import sys
import threading
from typing import Protocol, TextIO

import structlog

from coffee_maker.notify.inbox import Inbox, PendingQuestion

log = structlog.get_logger(__name__)


class Channel(Protocol):
    name: str

    def ask(self, question: PendingQuestion) -> None: ...
    def resolve(self, question: PendingQuestion, answer: str, who: str) -> None: ...
    def inform(self, message: str, *, kind: str = "info") -> None: ...


def question_text(q: PendingQuestion) -> str:
    options = " / ".join(q.options) if q.options else "any text"
    return (f"{q.text}\n\nPriority: {q.priority or '-'} · options: {options} · "
            f"safe default after timeout: {q.safe_default}\nAnswer from any shell: {q.answer_command()}")


class CliChannel:
    """Questions wait in the inbox for `coffee-maker answer`; this channel just says so in the log."""

    name = "cli"

    def ask(self, question: PendingQuestion) -> None:
        log.warning("question waiting for a person", id=question.id, question=question.text,
                    options=list(question.options), answer_with=question.answer_command())

    def resolve(self, question: PendingQuestion, answer: str, who: str) -> None:
        log.info("question answered", id=question.id, answer=answer, by=who)

    def inform(self, message: str, *, kind: str = "info") -> None:
        log.info(message, notice=kind)


class TerminalChannel:
    """A rich panel and a prompt — only when the daemon runs on a TTY."""

    name = "terminal"

    def __init__(self, inbox: Inbox, *, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        self.inbox = inbox
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self._current: PendingQuestion | None = None
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None

    @staticmethod
    def available(stdin: TextIO | None = None) -> bool:
        stream = stdin or sys.stdin
        return bool(stream) and stream.isatty()

    def ask(self, question: PendingQuestion) -> None:
        from rich.console import Console
        from rich.panel import Panel

        with self._lock:
            self._current = question
        console = Console(file=self.stdout, highlight=False)
        options = " / ".join(question.options) if question.options else "type your answer"
        console.print(Panel(f"{question.text}\n\n[dim]{options} · Enter = wait for another channel[/]",
                            title=f"coffee-maker needs you — {question.priority or ''} [{question.id}]",
                            border_style="yellow"))
        self.stdout.write(f"answer [{question.id}]> ")
        self.stdout.flush()
        if self._reader is None or not self._reader.is_alive():
            self._reader = threading.Thread(target=self._read, name="terminal-answers", daemon=True)
            self._reader.start()

    def _read(self) -> None:
        for line in self.stdin:
            value = line.strip()
            with self._lock:
                current = self._current
            if current is None or not value:
                continue
            if not self.inbox.answer(current.id, value, who="terminal", channel=self.name):
                self.stdout.write("(that question was already answered elsewhere)\n")

    def resolve(self, question: PendingQuestion, answer: str, who: str) -> None:
        with self._lock:
            if self._current and self._current.id == question.id:
                self._current = None
        self.stdout.write(f"\n✔ [{question.id}] answered: {answer} (by {who})\n")
        self.stdout.flush()

    def inform(self, message: str, *, kind: str = "info") -> None:
        self.stdout.write(f"☕ {message}\n")
        self.stdout.flush()


class DesktopChannel:
    """A desktop notification through plyer (no buttons: it says how to answer)."""

    name = "desktop"

    def __init__(self, app_name: str = "coffee-maker") -> None:
        self.app_name = app_name

    def _notify(self, title: str, message: str) -> None:
        from plyer import notification

        notification.notify(title=title, message=message[:250], app_name=self.app_name, timeout=30)

    def ask(self, question: PendingQuestion) -> None:
        self._notify(f"coffee-maker needs you ({question.priority or 'question'})",
                     f"{question.text}\nAnswer: {question.answer_command()}")

    def resolve(self, question: PendingQuestion, answer: str, who: str) -> None:
        return None  # plyer cannot withdraw a notification; the next one says what happened

    def inform(self, message: str, *, kind: str = "info") -> None:
        self._notify("coffee-maker", message)


class AppriseChannel:
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
