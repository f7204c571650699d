"""SQLite files shared by the daemon and CLI commands: one connection per thread, WAL mode, one migrate().

The state store, the pending-question inbox and the telemetry store all need the same
set-up: WAL so readers never block the writer, a busy timeout so two processes wait for
each other instead of failing, autocommit with explicit `BEGIN IMMEDIATE` transactions,
and one connection per thread (connections of finished threads are closed on the way).
Each store brings its schema up to date the same way, with :func:`migrate`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_MS = 10_000

#: One migration step: a SQL script, or a function for what SQL cannot say conditionally.
Step = str | Callable[[sqlite3.Connection], None]


def migrate(conn: sqlite3.Connection, steps: Sequence[Step]) -> int:
    """Bring the database to version ``len(steps)``; returns the version it is at afterwards.

    ``PRAGMA user_version`` is the number of steps already applied: step ``n`` moves the
    schema from version ``n`` to ``n + 1``. The missing steps run in one immediate
    transaction with the version bump, so two processes opening the file at once apply
    them once, and a failing step leaves the file as it was. A file already at (or, made
    by a newer coffee-maker, past) the last version is left alone without taking the
    write lock, so opening a store while the daemon writes does not wait.
    """
    if _version(conn) >= len(steps):
        return _version(conn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _version(conn)  # again under the lock: another process may have migrated meanwhile
        for step in steps[version:]:
            if callable(step):
                step(conn)
            else:
                for statement in _statements(step):
                    conn.execute(statement)
        conn.execute(f"PRAGMA user_version={max(version, len(steps))}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return max(version, len(steps))


def add_column(table: str, column: str, declaration: str) -> Step:
    """A step adding ``column`` unless the table has it: files made before ``user_version`` was kept
    may or may not have it, so the step must be safe either way."""

    def step(conn: sqlite3.Connection) -> None:
        if column not in {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    return step


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _statements(script: str) -> Iterator[str]:
    """The statements of ``script`` one by one (``execute`` takes one; ``executescript`` would commit
    the transaction first). A ``;`` inside a string or a trigger body does not end a statement."""
    pending = ""
    for part in script.split(";"):
        pending += part + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\n;"):
                yield pending
            pending = ""
    if pending.strip(" \t\n;"):
        yield pending  # an unfinished last statement: execute() says what is wrong with it


def connect(path: Path, *, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """A connection set up for sharing the file with other threads and processes."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=False)  # one thread uses it; close() may run elsewhere
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    _into_wal(conn)
    conn.execute(f"PRAGMA synchronous={synchronous}")
    return conn


def _into_wal(conn: sqlite3.Connection) -> None:
    """WAL mode, waiting (up to the busy timeout) for another connection's write to end.

    Why a loop: the switch needs the file to itself, and SQLite answers "database is locked" at once,
    without its busy handler, while another process holds a write lock — which is what a second process
    opening a file the first has just created and is migrating meets. WAL, once set, is kept in the file,
    and a later connection's switch is a no-op.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


class ThreadConnections:
    """This thread's connection to one database file, and transactions on it."""

    def __init__(self, path: Path, *, synchronous: str = "NORMAL", rows: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.synchronous = synchronous
        self.rows = rows
        self._local = threading.local()
        self._open: dict[int, tuple[threading.Thread, sqlite3.Connection]] = {}
        self._lock = threading.Lock()
        #: Bumped by close(): a live thread's connection opened before it is closed by that thread.
        self._generation = 0

    def get(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "generation", 0) != self._generation:
            conn.close()  # close() ran in another thread while this one held it: this thread closes its own
            conn = None
        if conn is None:
            conn = connect(self.path, synchronous=self.synchronous)
            if self.rows:
                conn.row_factory = sqlite3.Row
            self._local.conn = conn
            self._local.generation = self._generation
            with self._lock:
                for ident, (thread, old) in list(self._open.items()):
                    if not thread.is_alive():
                        del self._open[ident]
                        old.close()
                self._open[threading.get_ident()] = (threading.current_thread(), conn)
        return conn

    @property
    def open_count(self) -> int:
        """Connections currently open (finished threads' are closed when another thread connects)."""
        with self._lock:
            return len(self._open)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """An immediate (write-locked) transaction, rolled back on any exception."""
        conn = self.get()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection and those of finished threads (when the daemon or command ends).

        A connection another live thread holds is left to that thread, which closes it at its next
        ``get()``: closing a connection while another thread runs a statement on it frees the
        statement under it and can crash the interpreter (seen as a SIGSEGV at shutdown).
        """
        me = threading.get_ident()
        with self._lock:
            self._generation += 1
            closing = [conn for ident, (thread, conn) in self._open.items() if ident == me or not thread.is_alive()]
            self._open = {ident: entry for ident, entry in self._open.items()
                          if ident != me and entry[0].is_alive()}
        for conn in closing:
            conn.close()
        self._local.conn = None
