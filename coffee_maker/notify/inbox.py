"""Pending questions in SQLite: a daemon restart loses none, and any process can answer.

The daemon waits on a question by polling ``PRAGMA data_version`` every 20 ms —
a cheap read (no table access) that changes only when another connection commits —
so an answer typed in another shell (`coffee-maker answer ID VALUE`) arrives within
~20 ms of its commit.
The first valid answer wins: answering is an UPDATE guarded by status='pending'.

A question belongs to the session that asks it (:class:`InboxSession`, an flock
the kernel drops when the process dies). The API other front ends (the CLI, the
web inbox) use:

- :meth:`Inbox.waiting` — the questions a live session waits for: show these.
- :meth:`Inbox.asker_stopped` — still open, but their daemon stopped or crashed:
  show them, if at all, as "will be asked again when the daemon resumes".
- :meth:`Inbox.is_waited_for` before :meth:`Inbox.answer`: answering a question
  nobody waits for must say so instead of recording an answer nothing will read.
- :meth:`Inbox.answer` returns False when another channel answered first; that
  channel's prompt is then updated or withdrawn by the escalator (``resolve``).

When a resumed session asks the same question again (:meth:`find_open`), it
adopts the old entry (same id, fresh timeout); an answer given before the stop
and not yet acted on is used at once.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from coffee_maker.notify.session import SESSIONS_DIR, InboxSession, session_alive
from coffee_maker.sqlite import ThreadConnections, add_column, migrate

_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: easy to type from a phone

#: The schema's steps for sqlite.migrate. Files made before the schema carried a version
#: (user_version 0) have the table, perhaps without the columns added later: hence IF NOT EXISTS
#: and the add_column steps, which add a column only where it is missing.
MIGRATIONS = ("""
CREATE TABLE IF NOT EXISTS questions (
    id TEXT PRIMARY KEY, created REAL NOT NULL, priority TEXT, kind TEXT NOT NULL, text TEXT NOT NULL,
    options TEXT NOT NULL, safe_default TEXT NOT NULL, timeout_at REAL NOT NULL, rank INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending', answer TEXT, answered_by TEXT, channel TEXT, answered_at REAL,
    context TEXT NOT NULL DEFAULT '{}', consumed INTEGER NOT NULL DEFAULT 0, session TEXT, asker_pid INTEGER
);
CREATE INDEX IF NOT EXISTS questions_status ON questions(status, rank, created);
""",
              add_column("questions", "consumed", "INTEGER NOT NULL DEFAULT 0"),  # re-used after a restart
              add_column("questions", "session", "TEXT"),  # questions belong to a live session
              add_column("questions", "asker_pid", "INTEGER"),
              # The only channels whose answer counts (a high-severity request), as a JSON list; NULL: any.
              add_column("questions", "answer_from", "TEXT"))


class QuestionStatus(StrEnum):
    """Where a question in the inbox stands; the value is what the ``status`` column holds."""

    PENDING = "pending"  # waiting for a person
    ANSWERED = "answered"  # the first valid answer arrived
    EXPIRED = "expired"  # nobody answered before its timeout: the safe default was used


@dataclass(frozen=True)
class PendingQuestion:
    """A question waiting for (or answered by) a person, as stored in the inbox."""

    id: str
    created: float
    priority: str | None
    kind: str  # question | permission
    text: str
    options: tuple[str, ...]
    safe_default: str
    timeout_at: float
    status: QuestionStatus = QuestionStatus.PENDING
    answer: str | None = None
    answered_by: str | None = None
    channel: str | None = None
    answered_at: float | None = None
    rank: int = 0
    session: str | None = None  # the asking session's token (see notify/session.py)
    asker_pid: int | None = None
    #: A high-severity request: the only channels whose answer counts (empty: any). Stored with the
    #: question so every channel, the web page and a restarted daemon read the same tier.
    answer_from: tuple[str, ...] = ()

    def answers_here(self, channel: str) -> bool:
        """May ``channel`` answer this question (show buttons, accept a click)?"""
        return not self.answer_from or channel in self.answer_from

    def answer_command(self, value: str | None = None) -> str:
        return f"coffee-maker answer {self.id} {value or (self.options[0] if self.options else 'VALUE')}"


class Inbox:
    """The SQLite inbox; one connection per thread, safe to share across threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = ThreadConnections(path, rows=True)
        migrate(self._conn(), MIGRATIONS)
        self.sessions_dir = path.parent / SESSIONS_DIR

    def _conn(self) -> sqlite3.Connection:
        return self._db.get()

    def close(self) -> None:
        self._db.close()

    def open_session(self) -> InboxSession:
        """A claim that this process waits for the questions it adds; close it when the process stops asking."""
        return InboxSession(self.sessions_dir)

    def is_waited_for(self, question: PendingQuestion) -> bool:
        """Is a live session waiting for this (pending) question's answer?"""
        return question.status is QuestionStatus.PENDING and session_alive(self.sessions_dir, question.session)

    def add(self, text: str, *, kind: str, options: Sequence[str], safe_default: str, timeout_s: float,
            priority: str | None = None, rank: int = 0, context: dict[str, object] | None = None,
            session: InboxSession | None = None, answer_from: Sequence[str] = ()) -> PendingQuestion:
        now = time.time()
        for _ in range(20):
            qid = "".join(secrets.choice(_ALPHABET) for _ in range(4))
            try:
                self._conn().execute(
                    "INSERT INTO questions (id, created, priority, kind, text, options, safe_default, timeout_at, rank,"
                    " context, session, asker_pid, answer_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (qid, now, priority, kind, text, json.dumps(list(options)), safe_default, now + timeout_s, rank,
                     json.dumps(context or {}, default=str), session.token if session else None,
                     session.pid if session else None, json.dumps(list(answer_from)) if answer_from else None))
                found = self.get(qid)
                assert found is not None
                return found
            except sqlite3.IntegrityError:
                continue
        raise RuntimeError("could not allocate a question id")

    def find_open(self, *, priority: str | None, kind: str, text: str) -> PendingQuestion | None:
        """The same question asked before a restart: still pending, or answered but not yet used."""
        row = self._conn().execute(
            "SELECT * FROM questions WHERE priority IS ? AND kind = ? AND text = ? AND consumed = 0"
            " AND status IN ('pending', 'answered') ORDER BY created DESC LIMIT 1", (priority, kind, text)).fetchone()
        return _row(row) if row else None

    def adopt(self, qid: str, session: InboxSession | None, *, timeout_s: float) -> PendingQuestion | None:
        """A resumed session asks an old question again: it is now the one waiting, with a fresh timeout."""
        self._conn().execute(
            "UPDATE questions SET session = ?, asker_pid = ?, timeout_at = CASE WHEN status = 'pending' THEN ?"
            " ELSE timeout_at END WHERE id = ?",
            (session.token if session else None, session.pid if session else None, time.time() + timeout_s, qid))
        return self.get(qid)

    def consume(self, qid: str) -> None:
        """The daemon has acted on this question's outcome; it is never reused."""
        self._conn().execute("UPDATE questions SET consumed = 1 WHERE id = ?", (qid,))

    def get(self, qid: str) -> PendingQuestion | None:
        row = self._conn().execute("SELECT * FROM questions WHERE id = ?", (qid.strip().lower(),)).fetchone()
        return _row(row) if row else None

    def pending(self) -> list[PendingQuestion]:
        """Open questions, most important first (rank, then oldest)."""
        rows = self._conn().execute(
            "SELECT * FROM questions WHERE status = 'pending' ORDER BY rank DESC, created").fetchall()
        return [_row(r) for r in rows]

    def waiting(self) -> list[PendingQuestion]:
        """Open questions a live session waits for, most important first: what a person should answer now."""
        return [q for q in self.pending() if self.is_waited_for(q)]

    def asker_stopped(self) -> list[PendingQuestion]:
        """Open questions whose session stopped or crashed: they will be asked again when the daemon resumes."""
        return [q for q in self.pending() if not self.is_waited_for(q)]

    def recent(self, limit: int = 20) -> list[PendingQuestion]:
        """Questions no longer pending (answered, expired), latest first — the web inbox's "settled" list."""
        rows = self._conn().execute(
            "SELECT * FROM questions WHERE status != 'pending' ORDER BY COALESCE(answered_at, timeout_at) DESC LIMIT ?",
            (limit,)).fetchall()
        return [_row(r) for r in rows]

    def context(self, qid: str) -> dict[str, object]:
        """What the asker attached to the question (tool, input, rule, reason…); {} when none or unknown."""
        row = self._conn().execute("SELECT context FROM questions WHERE id = ?", (qid.strip().lower(),)).fetchone()
        try:
            found = json.loads(row["context"]) if row else {}
        except json.JSONDecodeError:
            return {}
        return found if isinstance(found, dict) else {}

    def answer(self, qid: str, value: str, *, who: str, channel: str) -> bool:
        """Record an answer; False when the question is not pending (answered elsewhere, expired)."""
        cur = self._conn().execute(
            "UPDATE questions SET status = 'answered', answer = ?, answered_by = ?, channel = ?, answered_at = ?"
            " WHERE id = ? AND status = 'pending'", (value, who, channel, time.time(), qid.strip().lower()))
        return cur.rowcount == 1

    def reopen(self, qid: str) -> None:
        """An invalid answer: the question is pending again."""
        self._conn().execute("UPDATE questions SET status = 'pending', answer = NULL, answered_by = NULL,"
                             " channel = NULL, answered_at = NULL WHERE id = ?", (qid,))

    def close_question(self, qid: str, status: QuestionStatus) -> None:
        self._conn().execute("UPDATE questions SET status = ? WHERE id = ? AND status = 'pending'", (status, qid))

    def wait(self, qid: str, *, until: float, poll_s: float = 0.02, stop: threading.Event | None = None
             ) -> PendingQuestion | None:
        """Block until the question is answered (returned) or ``until`` passes / ``stop`` is set (None)."""
        conn = self._conn()
        version = None
        while time.time() < until and not (stop and stop.is_set()):
            current = conn.execute("PRAGMA data_version").fetchone()[0]
            if current != version:
                version = current
                found = self.get(qid)
                if found is not None and found.status is QuestionStatus.ANSWERED:
                    return found
            time.sleep(poll_s)
        return None


def _row(row: sqlite3.Row) -> PendingQuestion:
    return PendingQuestion(
        id=row["id"], created=row["created"], priority=row["priority"], kind=row["kind"], text=row["text"],
        options=tuple(json.loads(row["options"])), safe_default=row["safe_default"], timeout_at=row["timeout_at"],
        status=QuestionStatus(row["status"]), answer=row["answer"], answered_by=row["answered_by"], channel=row["channel"],
        answered_at=row["answered_at"], rank=row["rank"], session=row["session"], asker_pid=row["asker_pid"],
        answer_from=tuple(json.loads(row["answer_from"])) if row["answer_from"] else ())
