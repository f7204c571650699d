"""What a click on the page changes: an answer in the inbox, a blocked priority retried, the daemon paused.

Each action returns a sentence for the person and an HTTP status; nothing here
raises for bad input. The inbox's guarded UPDATE decides who answered first, so
the page, the terminal, Slack and `coffee-maker answer` can race safely.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import structlog

from coffee_maker.daemon.state import Phase
from coffee_maker.notify.escalator import RESUME_NOTE, normalise_answer
from coffee_maker.notify.inbox import QuestionStatus
from coffee_maker.web._data import Sources

log = structlog.get_logger(__name__)

WEB_CHANNEL = "web"


@dataclass(frozen=True)
class Outcome:
    status: int
    message: str


def answer(src: Sources, qid: str, value: str, *, person: str | None) -> Outcome:
    question = src.inbox.get(qid)
    if question is None:
        return Outcome(404, f"There is no question {qid!r}.")
    if question.status is not QuestionStatus.PENDING:
        return Outcome(409, _settled_sentence(question.id, question.status, question.answer, question.answered_by,
                                              question.channel))
    if not src.inbox.is_waited_for(question):
        return Outcome(409, f"Nobody is waiting for question {question.id}: the daemon that asked it has stopped. "
                            f"It {RESUME_NOTE}; answer it then. Nothing was changed.")
    if not question.answers_here(WEB_CHANNEL):
        # A high-severity request the trust tiers reserve for some channels: the page does not answer it.
        return Outcome(403, f"Question {question.id} may be answered only from {' or '.join(question.answer_from)}; "
                            "nothing was changed.")
    value = value.strip()
    if normalise_answer(value, question.options) is None:
        return Outcome(400, f"{value!r} is not an answer to {question.id}; choose one of: "
                            f"{', '.join(question.options)}." if question.options else "Type an answer first.")
    who = f"{WEB_CHANNEL}:{person or 'web'}"
    if not src.inbox.answer(question.id, value, who=who, channel=WEB_CHANNEL):
        latest = src.inbox.get(question.id)
        return Outcome(409, _settled_sentence(question.id, latest.status if latest else None,
                                              latest.answer if latest else None,
                                              latest.answered_by if latest else None, latest.channel if latest else None))
    log.info("answered on the web page", id=question.id, by=who)
    return Outcome(200, f"Answered {question.id}: {value}.")


def _settled_sentence(qid: str, status: QuestionStatus | None, value: str | None, who: str | None, channel: str | None
                      ) -> str:
    if status is QuestionStatus.ANSWERED:
        by = who or channel or "someone"
        return f"Question {qid} was already answered by {by} ({value}); nothing was changed."
    if status is QuestionStatus.EXPIRED:
        return f"Question {qid} is no longer waiting: it expired and the safe default was used; nothing was changed."
    return f"Question {qid} is no longer waiting ({status or 'gone'}); nothing was changed."


def retry(src: Sources, priority: str, *, person: str | None, wake: threading.Event | None) -> Outcome:
    state = src.store.get(priority)
    if state is None or state.phase is not Phase.BLOCKED:
        return Outcome(409, f"{priority} is not blocked; nothing was changed.")
    src.store.retry(priority, detail=f"retry requested on the web page by {person or 'web'}")
    log.info("blocked priority retried from the web page", priority=priority)
    if wake is not None:
        wake.set()
    return Outcome(200, f"{priority} will be tried again.")


def pause(src: Sources, *, person: str | None) -> Outcome:
    src.store.set_info(paused_by=person or "web", paused_at=time.time())
    log.info("daemon paused from the web page", by=person or "web")
    return Outcome(200, "Paused: the current step finishes, no new priority starts until you resume.")


def resume(src: Sources, *, wake: threading.Event | None) -> Outcome:
    src.store.set_info(paused_by=None)
    if wake is not None:
        wake.set()
    log.info("daemon resumed from the web page")
    return Outcome(200, "Resumed.")
