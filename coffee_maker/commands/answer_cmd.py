"""`coffee-maker pending` and `coffee-maker answer ID VALUE`: answer the daemon from any shell.

Why through the inbox file: the daemon polls the SQLite inbox cheaply, so an
answer written here reaches the waiting handler within ~100 ms with no socket,
no daemon API and no running daemon needed to queue it.
"""

from __future__ import annotations

import argparse
import time

from rich.markup import escape
from rich.table import Table

from coffee_maker.commands import _common
from coffee_maker.config import LoadedConfig
from coffee_maker.errors import UsageError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    pending = sub.add_parser("pending", help="questions waiting for a person", parents=[common])
    pending.add_argument("--json", action="store_true", help="print JSON")
    pending.set_defaults(func=lambda a: show_pending(_common.load_for_state(a), as_json=a.json))

    answer = sub.add_parser("answer", help="answer a pending question", parents=[common])
    answer.add_argument("id", metavar="ID", help="the question's id, as `coffee-maker pending` shows it (e.g. ab3k)")
    answer.add_argument("value", metavar="VALUE", nargs="+", help="the answer (e.g. yes, no, always, or text)")
    answer.add_argument("--as", dest="who", default=None, help="who is answering (default: your user name)")
    answer.set_defaults(func=lambda a: answer_question(_common.load_for_state(a), a.id, " ".join(a.value), who=a.who))


def show_pending(loaded: LoadedConfig, *, as_json: bool) -> int:
    from coffee_maker.notify.escalator import RESUME_NOTE
    from coffee_maker.notify.inbox import Inbox

    db = loaded.layout.inbox_db
    inbox = Inbox(db) if db.exists() else None
    questions = inbox.waiting() if inbox else []
    paused = inbox.asker_stopped() if inbox else []
    if as_json:
        _common.print_json(
            [{"id": q.id, "priority": q.priority, "kind": q.kind, "question": q.text, "options": list(q.options),
              "safe_default": q.safe_default, "rank": q.rank, "waiting": True,
              "seconds_left": max(0, round(q.timeout_at - time.time())), "answer_with": q.answer_command()}
             for q in questions]
            + [{"id": q.id, "priority": q.priority, "kind": q.kind, "question": q.text, "options": list(q.options),
                "safe_default": q.safe_default, "rank": q.rank, "waiting": False, "note": RESUME_NOTE}
               for q in paused])
        return 0
    console = _common.console()
    if not questions:
        console.print("No questions are waiting.")
    else:
        table = Table(title="waiting for a person", title_justify="left")
        for column in ("id", "priority", "question", "options", "left", "answer with"):
            table.add_column(column)
        for q in questions:
            table.add_row(q.id, q.priority or "", escape(q.text), " / ".join(q.options) or "text",
                          f"{max(0, int(q.timeout_at - time.time()))}s", escape(q.answer_command()))
        console.print(table)
    if paused:
        noun, it = ("question was", "it") if len(paused) == 1 else ("questions were", "they")
        console.print(f"{len(paused)} {noun} asked by a daemon that has stopped; {it} {RESUME_NOTE}:")
        for q in paused:
            console.print(f"  {q.id}  {escape(q.priority or '')}  {escape(q.text)}")
    return 0


def answer_question(loaded: LoadedConfig, qid: str, value: str, *, who: str | None) -> int:
    import getpass

    from coffee_maker.notify.escalator import RESUME_NOTE, normalise_answer
    from coffee_maker.notify.inbox import Inbox

    db = loaded.layout.inbox_db
    if not db.exists():
        raise UsageError(f"No questions have been asked in {loaded.repo} yet.")
    inbox = Inbox(db)
    question = inbox.get(qid)
    if question is None:
        raise UsageError(f"There is no question {qid!r}; see `coffee-maker pending`.")
    if question.status != "pending":
        raise UsageError(f"Question {question.id} is already {question.status}"
                         + (f" ({question.answer} by {question.answered_by})." if question.answer else "."))
    if not inbox.is_waited_for(question):
        asker = f" (pid {question.asker_pid})" if question.asker_pid else ""
        raise UsageError(f"Nobody is waiting for question {question.id}: the daemon that asked it{asker} has stopped. "
                         f"It {RESUME_NOTE}; answer it then (see `coffee-maker pending`).")
    if normalise_answer(value, question.options) is None:
        raise UsageError(f"{value!r} is not an answer to {question.id}; choose one of: {', '.join(question.options)}.")
    if not inbox.answer(question.id, value, who=f"cli:{who or getpass.getuser()}", channel="cli"):
        raise UsageError(f"Question {question.id} was answered elsewhere a moment ago.")
    _common.console().print(f"Answered {question.id}: {value}")
    return 0
