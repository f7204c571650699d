"""Inbox files made before the schema carried a version still open, keep their questions, and gain new columns."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from coffee_maker.notify.inbox import MIGRATIONS, Inbox

#: What the code before sqlite.migrate created (user_version left at 0): the full table of today …
TODAY = """
CREATE TABLE IF NOT EXISTS questions (
    id TEXT PRIMARY KEY, created REAL NOT NULL, priority TEXT, kind TEXT NOT NULL, text TEXT NOT NULL,
    options TEXT NOT NULL, safe_default TEXT NOT NULL, timeout_at REAL NOT NULL, rank INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending', answer TEXT, answered_by TEXT, channel TEXT, answered_at REAL,
    context TEXT NOT NULL DEFAULT '{}', consumed INTEGER NOT NULL DEFAULT 0, session TEXT, asker_pid INTEGER
);
CREATE INDEX IF NOT EXISTS questions_status ON questions(status, rank, created);
"""
#: … and the older table it still upgraded by hand, without the consumed, session and asker_pid columns.
BEFORE_SESSIONS = """
CREATE TABLE IF NOT EXISTS questions (
    id TEXT PRIMARY KEY, created REAL NOT NULL, priority TEXT, kind TEXT NOT NULL, text TEXT NOT NULL,
    options TEXT NOT NULL, safe_default TEXT NOT NULL, timeout_at REAL NOT NULL, rank INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending', answer TEXT, answered_by TEXT, channel TEXT, answered_at REAL,
    context TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS questions_status ON questions(status, rank, created);
"""


def make_inbox(path: Path, schema: str) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(schema)
    conn.execute("INSERT INTO questions (id, created, priority, kind, text, options, safe_default, timeout_at, status,"
                 " answer, answered_by, channel, answered_at) VALUES ('abcd', 10.0, 'PRIORITY 1', 'question',"
                 " 'Which API?', '[\"a\", \"b\"]', 'a', 9999999999.0, 'answered', 'b', 'dev', 'cli', 20.0)")
    conn.execute("INSERT INTO questions (id, created, kind, text, options, safe_default, timeout_at)"
                 " VALUES ('efgh', 11.0, 'permission', 'Run make?', '[\"yes\", \"no\"]', 'no', 9999999999.0)")
    conn.commit()
    assert conn.execute("PRAGMA user_version").fetchone() == (0,)
    conn.close()


@pytest.mark.parametrize("schema", [TODAY, BEFORE_SESSIONS], ids=["today", "before-sessions"])
def test_an_unversioned_inbox_opens_with_its_questions(tmp_path: Path, schema: str) -> None:
    """Both shapes the old code left behind open with every question and answer, at the current version."""
    path = tmp_path / "inbox.db"
    make_inbox(path, schema)
    inbox = Inbox(path)
    answered = inbox.get("abcd")
    assert answered is not None and (answered.status, answered.answer, answered.answered_by, answered.options) == \
        ("answered", "b", "dev", ("a", "b"))
    assert [q.id for q in inbox.pending()] == ["efgh"]
    session = inbox.open_session()  # the columns added since work: a live session's question is waited for
    try:
        asked = inbox.add("Another?", kind="question", options=["x"], safe_default="x", timeout_s=60, session=session)
        assert inbox.is_waited_for(asked) and asked.asker_pid == session.pid
    finally:
        session.close()
        inbox.close()
    conn = sqlite3.connect(path)
    columns = [row[1] for row in conn.execute("PRAGMA table_info(questions)")]
    assert {"consumed", "session", "asker_pid"} <= set(columns) and len(columns) == len(set(columns))
    assert conn.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
    conn.close()


def test_reopening_changes_nothing(tmp_path: Path) -> None:
    """A current inbox opened again keeps its questions and its version."""
    path = tmp_path / "inbox.db"
    first = Inbox(path)
    qid = first.add("Q?", kind="question", options=["x"], safe_default="x", timeout_s=60).id
    first.close()
    again = Inbox(path)
    assert [q.id for q in again.pending()] == [qid]
    again.close()
