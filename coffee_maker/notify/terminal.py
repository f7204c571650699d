"""The terminal channel: a rich panel and a prompt, only when the daemon runs on a TTY.

Why a reader thread: the daemon is blocked in the escalator while a person types;
the thread writes each typed line into the inbox, where the escalator sees it.
Why a status-line hook: the daemon's live progress line (daemon/progress.py)
redraws every second on the same terminal and would wipe the prompt; it is
paused from the question until its answer.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable
from typing import Protocol, TextIO

from coffee_maker.notify.channels import Channel
from coffee_maker.notify.inbox import Inbox, PendingQuestion


class StatusLine(Protocol):
    """What the terminal channel needs of a live status line: stop drawing over the prompt, then carry on."""

    def pause(self) -> None: ...
    def resume(self) -> None: ...


class TerminalChannel(Channel):
    """A rich panel and a prompt — only when the daemon runs on a TTY."""

    name = "terminal"
    live_prompts = True

    def __init__(self, inbox: Inbox, *, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        self.inbox = inbox
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self._current: PendingQuestion | None = None
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None
        #: The live status line to pause while a question is on screen (set by the daemon's wiring).
        self.status_line: StatusLine | None = None
        self._holding = False

    @staticmethod
    def available(stdin: TextIO | None = None) -> bool:
        stream = stdin or sys.stdin
        return bool(stream) and stream.isatty()

    def ask(self, question: PendingQuestion) -> None:
        from rich.console import Console
        from rich.markup import escape
        from rich.panel import Panel

        with self._lock:
            self._current = question
            hold = self.status_line is not None and not self._holding
            self._holding = self._holding or hold
        if hold and self.status_line is not None:
            self.status_line.pause()
        console = Console(file=self.stdout, highlight=False)
        options = " / ".join(question.options) if question.options else "type your answer"
        console.print(Panel(f"{escape(question.text)}\n\n[dim]{escape(options)} · Enter = wait for another channel[/]",
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
        self._end_prompt(question, f"\n✔ [{question.id}] answered: {answer} (by {who})\n", stopping=False)

    def withdraw(self, question: PendingQuestion, note: str) -> None:
        """The daemon stops: the prompt is over (typing now answers nobody) and the status line comes back."""
        self._end_prompt(question, f"\n☕ [{question.id}] the daemon is stopping; this question {note}.\n", stopping=True)

    def _end_prompt(self, question: PendingQuestion, line: str, *, stopping: bool) -> None:
        """Say how ``question`` ended; the status line comes back once no question is on screen (at once
        when ``stopping``: no other prompt follows)."""
        with self._lock:
            if self._current and self._current.id == question.id:
                self._current = None
            release = self._holding and (stopping or self._current is None)
            self._holding = self._holding and not release
        self.stdout.write(line)
        self.stdout.flush()
        if release and self.status_line is not None:
            self.status_line.resume()

    def inform(self, message: str, *, kind: str = "info") -> None:
        self.stdout.write(f"☕ {message}\n")
        with self._lock:
            current = self._current
        if kind == "reprompt" and current is not None:
            self.stdout.write(f"answer [{current.id}]> ")
        self.stdout.flush()


def pause_status_line_while_asking(channels: Iterable[object], status_line: StatusLine) -> None:
    """Give every terminal channel the status line to pause while it shows a question."""
    for channel in channels:
        if isinstance(channel, TerminalChannel):
            channel.status_line = status_line
