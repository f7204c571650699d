"""Ask a person through every configured channel; the first valid answer wins.

The question goes into the inbox first (so a restart or a click while the daemon
was away loses nothing), then to each channel in order. Text is redacted once,
here, with the interaction log's redaction, so every channel shows what the log
shows. A channel that fails to show the question (a webhook down) is logged and
asked again with back-off until the question is answered or times out. An answer
that is not one of the options re-opens the question (up to ``invalid_retries``
times). On timeout the safe default is used and every channel gets a timeout
alert. When the daemon stops, the question stays in the inbox for the next run
(``Escalation.stopped``), which asks it again under the same id.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from coffee_maker.notify.channels import Channel
from coffee_maker.notify.inbox import Inbox, PendingQuestion, QuestionStatus
from coffee_maker.notify.session import InboxSession, session_alive
from coffee_maker.notify.sink import InteractionSink
from coffee_maker.secrets import redact, redact_text

log = structlog.get_logger(__name__)

_SYNONYMS = {"y": "yes", "ok": "yes", "allow": "yes", "approve": "yes", "n": "no", "deny": "no", "s": "skip",
             "always allow": "always", "a": "always"}


class _Turns:
    """Questions take turns at the channels: highest rank first, then oldest.

    Every question is in the inbox from the start (so `coffee-maker pending` and
    `answer` see all of them); only the prompting is one at a time. A question
    answered or expired while waiting for its turn leaves the queue at once.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: list[tuple[int, int, str]] = []
        self._busy = False
        self._seq = itertools.count()

    def enter(self, rank: int, qid: str, settled: Callable[[], bool]) -> bool:
        """Wait for this question's turn (True), or until ``settled()`` (False, no turn taken)."""
        item = (-rank, next(self._seq), qid)
        with self._cond:
            heapq.heappush(self._queue, item)
            while self._busy or self._queue[0] != item:
                self._cond.wait(0.05)
                if settled():
                    self._queue.remove(item)
                    heapq.heapify(self._queue)
                    self._cond.notify_all()
                    return False
            heapq.heappop(self._queue)
            self._busy = True
            return True

    def leave(self) -> None:
        with self._cond:
            self._busy = False
            self._cond.notify_all()


@dataclass(frozen=True)
class Escalation:
    """How a person (or the clock) answered."""

    answer: str
    who: str
    channel: str
    timed_out: bool
    latency_s: float
    channels: tuple[str, ...]
    question_id: str

    @property
    def stopped(self) -> bool:
        """The daemon stopped while waiting: nobody answered and nothing timed out; it will be asked again."""
        return self.who == STOPPED


SKIP = "skip"
STOPPED = "stopped"


def normalise_answer(value: str, options: Sequence[str]) -> str | None:
    """The option ``value`` means, or None when it is not valid. Free text when there are no options.

    ``skip`` (the Skip button) is always valid: the person declines, and the escalator
    uses the safe default at once instead of waiting for the timeout.
    """
    text = value.strip()
    lowered = _SYNONYMS.get(text.lower(), text.lower())
    if lowered == SKIP and not any(o.lower() == SKIP for o in options):
        return SKIP
    if not options:
        return text or None
    for option in options:
        if option.lower() == lowered:
            return option
    prefixed = [o for o in options if o.lower().startswith(lowered)]
    return prefixed[0] if len(prefixed) == 1 else None


class Escalator:
    """Asks a person on every channel; thread-safe, one question prompted at a time by rank."""

    def __init__(self, inbox: Inbox, channels: Sequence[Channel], *, timeout_s: float, invalid_retries: int = 2,
                 sink: InteractionSink | None = None, stop: threading.Event | None = None,
                 resend_after_s: tuple[float, float] = (15.0, 300.0)) -> None:
        self.inbox = inbox
        self.channels = list(channels)
        self.timeout_s = timeout_s
        self.invalid_retries = invalid_retries
        self.sink = sink
        self.stop = stop or threading.Event()
        #: First and longest wait before a failed channel is shown the question again (doubling in between).
        self.resend_after_s = resend_after_s
        self._turns = _Turns()
        self._session: InboxSession | None = None
        self._session_lock = threading.Lock()
        self._failures_seen: set[tuple[str, str]] = set()

    def _claim(self) -> InboxSession:
        """This process's claim on its questions, opened at the first question and held until ``close``."""
        with self._session_lock:
            if self._session is None or not self._session.alive:
                self._session = self.inbox.open_session()
            return self._session

    @property
    def channel_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.channels)

    def _each(self, what: str, call: Any, question_id: str | None, channels: Sequence[Channel] | None = None
              ) -> list[str]:
        reached = []
        for channel in self.channels if channels is None else channels:
            try:
                call(channel)
                reached.append(channel.name)
                ok = True
            except Exception as exc:  # noqa: BLE001 — a channel must never crash the daemon
                error = f"{type(exc).__name__}: {exc}"
                # The same failure again (no desktop session on a headless machine) is said once.
                first = (channel.name, error) not in self._failures_seen
                self._failures_seen.add((channel.name, error))
                (log.warning if first else log.debug)("notification channel failed; skipping it",
                                                      channel=channel.name, action=what, error=error)
                ok = False
            if self.sink is not None:
                try:
                    self.sink.record_notification(channel.name, what, ok, question_id)
                except Exception:  # noqa: BLE001
                    log.debug("notification sink failed", exc_info=True)
        return reached

    def ask(self, text: str, *, kind: str, options: Sequence[str], safe_default: str, priority: str | None = None,
            rank: int = 0, context: dict[str, Any] | None = None, timeout_s: float | None = None,
            answer_from: Sequence[str] | None = None) -> Escalation:
        """Ask a person; block until the first valid answer, or the timeout (then ``safe_default``).

        ``answer_from`` (high-severity requests) names the only channels whose answer counts;
        an answer from any other is refused with a notice saying where to answer.
        """
        started = time.monotonic()
        text = redact_text(text)  # once, here: the inbox and every channel show what the interaction log shows
        session = self._claim()
        question = self.inbox.find_open(priority=priority, kind=kind, text=text)
        if question is not None and not session_alive(self.inbox.sessions_dir, question.session):
            log.info("asking again a question from a stopped session", id=question.id, status=question.status)
            question = self.inbox.adopt(question.id, session, timeout_s=timeout_s or self.timeout_s) or question
        elif question is None:
            question = self.inbox.add(text, kind=kind, options=options, safe_default=safe_default,
                                      timeout_s=timeout_s or self.timeout_s, priority=priority, rank=rank,
                                      context=redact(context), session=session, answer_from=answer_from or ())
        qid = question.id
        took_turn = self._turns.enter(rank, qid, lambda: self._settled(qid))
        try:
            result = self.wait_for(self.inbox.get(qid) or question, started=started)
        finally:
            if took_turn:
                self._turns.leave()
        if not result.stopped:
            self.inbox.consume(qid)
        return result

    def _settled(self, qid: str) -> bool:
        found = self.inbox.get(qid)
        return found is None or found.status is not QuestionStatus.PENDING or time.time() >= found.timeout_at or self.stop.is_set()

    def wait_for(self, question: PendingQuestion, *, started: float | None = None) -> Escalation:
        """Ask (or re-ask, after a restart) an inbox question on every channel and wait for it."""
        started = time.monotonic() if started is None else started
        reached = [] if question.status is QuestionStatus.ANSWERED else self._each("ask", lambda c: c.ask(question), question.id)
        retries = self.invalid_retries
        while True:
            answered = question if question.status is QuestionStatus.ANSWERED else self._wait_resending(question, reached)
            question = dataclasses.replace(question, status=QuestionStatus.PENDING)
            if answered is None:
                return self._timeout(question, reached, started)
            if not question.answers_here(answered.channel or ""):
                allowed = question.answer_from
                log.warning("answer refused: high severity", id=question.id, channel=answered.channel)
                self.inbox.reopen(question.id)
                notice = (f"[{question.id}] This request is high severity: answer it from "
                          f"{' or '.join(allowed)} (`{question.answer_command()}`); the answer from "
                          f"{answered.channel} was not used.")
                self._each("reprompt", lambda c, q=question, n=notice: c.follow_up(q, n, kind="reprompt"), question.id)
                continue
            value = normalise_answer(answered.answer or "", question.options)
            if value == SKIP and not any(o.lower() == SKIP for o in question.options):
                value = question.safe_default
            if value is not None:
                who = answered.answered_by or "someone"
                self._each("resolve", lambda c, q=question, v=value, w=who: c.resolve(q, v, w), question.id)
                return Escalation(value, who, answered.channel or "?", False, time.monotonic() - started,
                                  tuple(reached), question.id)
            log.warning("invalid answer", id=question.id, answer=answered.answer, options=list(question.options))
            self.inbox.reopen(question.id)
            if retries <= 0:
                return self._timeout(question, reached, started, reason="no valid answer")
            retries -= 1
            notice = redact_text(f"[{question.id}] {answered.answer!r} is not one of {', '.join(question.options)}; "
                                 "please answer again.")
            self._each("reprompt", lambda c, q=question, n=notice: c.follow_up(q, n, kind="reprompt"), question.id)

    def _wait_resending(self, question: PendingQuestion, reached: list[str]) -> PendingQuestion | None:
        """Wait for an answer; meanwhile show the question again, with back-off, to channels that failed it."""
        delay, longest = self.resend_after_s
        while True:
            missing = [c for c in self.channels if c.name not in reached]
            until = question.timeout_at if not missing else min(question.timeout_at, time.time() + delay)
            answered = self.inbox.wait(question.id, until=until, stop=self.stop)
            if answered is not None or not missing or self.stop.is_set() or time.time() >= question.timeout_at:
                return answered
            current = self.inbox.get(question.id)
            if current is None or current.status is not QuestionStatus.PENDING:
                return current if current is not None and current.status is QuestionStatus.ANSWERED else None
            reached.extend(self._each("ask", lambda c: c.ask(question), question.id, missing))
            delay = min(delay * 2, longest)

    def _timeout(self, question: PendingQuestion, reached: list[str], started: float, reason: str = "timeout"
                 ) -> Escalation:
        if self.stop.is_set():  # the daemon is stopping: keep the question for the next run
            # Withdraw live prompts (Slack buttons, desktop buttons, the terminal prompt) that would answer nobody.
            self._each("withdraw", lambda c: c.withdraw(question, RESUME_NOTE), question.id,
                       [c for c in self.channels if c.live_prompts])
            return Escalation(question.safe_default, STOPPED, "none", False, time.monotonic() - started,
                              tuple(reached), question.id)
        self.inbox.close_question(question.id, QuestionStatus.EXPIRED)
        if not self.stop.is_set():
            # Withdraw the prompt everywhere (Slack message updated, desktop notification closed), then alert.
            self._each("resolve", lambda c: c.resolve(question, question.safe_default, "timeout_default"), question.id)
            notice = redact_text(f"No answer to [{question.id}] {question.text!r} ({reason}); used the safe default: "
                                 f"{question.safe_default}.")
            self._each("timeout", lambda c: c.follow_up(question, notice, kind="timeout"), question.id)
        return Escalation(question.safe_default, "timeout_default", "none", True, time.monotonic() - started,
                          tuple(reached), question.id)

    def inform(self, message: str, *, priority: str | None = None, kind: str = "info") -> None:
        """A one-way notice (a PR opened, a priority blocked, a fallback) to every channel, redacted once."""
        clean = redact_text(message)
        self._each(kind, lambda c: c.inform(clean, kind=kind), None)

    def close(self) -> None:
        """Close the channels and end this session's claim: its open questions now wait for the next run."""
        with self._session_lock:
            if self._session is not None:
                self._session.close()
        for channel in self.channels:
            try:
                channel.close()
            except Exception:  # noqa: BLE001
                log.debug("channel close failed", exc_info=True)


#: What a person is told about a question whose daemon stopped (pending, the channels, `answer`).
RESUME_NOTE = "will be asked again when the daemon resumes"
