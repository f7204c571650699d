"""The shared SQLite helper: per-thread connections, transactions, closing, migrations."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from coffee_maker.sqlite import ThreadConnections, add_column, connect, migrate


class TestThreadConnections:
    def test_connections_of_finished_threads_are_closed(self, tmp_path: Path) -> None:
        """Short-lived worker threads (one per decision) do not pile up open connections."""
        db = ThreadConnections(tmp_path / "x.db")
        db.get().execute("CREATE TABLE t (n INTEGER)")

        def insert() -> None:
            with db.write() as conn:
                conn.execute("INSERT INTO t VALUES (1)")

        for _ in range(20):
            worker = threading.Thread(target=insert)
            worker.start()
            worker.join()
        insert()
        assert db.open_count <= 2
        assert db.get().execute("SELECT COUNT(*) FROM t").fetchone() == (21,)
        db.close()
        assert db.open_count == 0

    def test_close_leaves_a_live_threads_connection_to_it(self, tmp_path: Path) -> None:
        """close() never closes a connection another live thread is using; that thread reopens at its next get()."""
        db = ThreadConnections(tmp_path / "x.db")
        db.get().execute("CREATE TABLE t (n INTEGER)")
        held, go, seen = threading.Event(), threading.Event(), []

        def worker() -> None:
            conn = db.get()
            held.set()
            go.wait(10)
            seen.append(conn.execute("SELECT COUNT(*) FROM t").fetchone())  # not closed under it
            seen.append(db.get() is not conn)
            seen.append(db.get().execute("SELECT COUNT(*) FROM t").fetchone())

        thread = threading.Thread(target=worker)
        thread.start()
        assert held.wait(10)
        db.close()
        go.set()
        thread.join(10)
        assert seen == [(0,), True, (0,)]

    def test_write_rolls_back_on_error(self, tmp_path: Path) -> None:
        """An exception inside a write transaction leaves nothing behind."""
        db = ThreadConnections(tmp_path / "x.db", rows=True)
        db.get().execute("CREATE TABLE t (n INTEGER)")
        with pytest.raises(RuntimeError), db.write() as conn:
            conn.execute("INSERT INTO t VALUES (1)")
            raise RuntimeError("boom")
        row = db.get().execute("SELECT COUNT(*) AS n FROM t").fetchone()
        assert isinstance(row, sqlite3.Row) and row["n"] == 0
        assert db.get().execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


STEPS = ("CREATE TABLE t (n INTEGER);\nINSERT INTO t VALUES (1);",
         "ALTER TABLE t ADD COLUMN label TEXT NOT NULL DEFAULT 'a;b';\nINSERT INTO t (n) VALUES (2);")


class TestMigrate:
    def test_applies_the_steps_in_order_and_records_the_version(self, tmp_path: Path) -> None:
        """A new file gets every step; user_version counts them; a ';' inside a string is not a split."""
        conn = connect(tmp_path / "m.db")
        assert migrate(conn, STEPS) == 2
        assert conn.execute("SELECT n, label FROM t ORDER BY n").fetchall() == [(1, "a;b"), (2, "a;b")]
        conn.close()
        assert version(tmp_path / "m.db") == 2

    def test_is_idempotent(self, tmp_path: Path) -> None:
        """Opening an up-to-date file again applies nothing (the INSERTs would show it)."""
        for _ in range(3):
            conn = connect(tmp_path / "m.db")
            assert migrate(conn, STEPS) == 2
            conn.close()
        conn = connect(tmp_path / "m.db")
        assert conn.execute("SELECT COUNT(*) FROM t").fetchone() == (2,)
        conn.close()

    def test_only_the_missing_steps_run(self, tmp_path: Path) -> None:
        """A file at version 1 gets step 2 only, keeping its rows."""
        conn = connect(tmp_path / "m.db")
        assert migrate(conn, STEPS[:1]) == 1
        conn.execute("INSERT INTO t VALUES (7)")
        assert migrate(conn, STEPS) == 2
        assert conn.execute("SELECT n FROM t ORDER BY n").fetchall() == [(1,), (2,), (7,)]
        conn.close()

    def test_a_failing_step_leaves_the_file_as_it_was(self, tmp_path: Path) -> None:
        """All missing steps are one transaction: step 1's table is rolled back with the failing step 2."""
        conn = connect(tmp_path / "m.db")
        with pytest.raises(sqlite3.OperationalError):
            migrate(conn, (STEPS[0], "CREATE TABLE u (a); SELECT broken FROM nowhere"))
        assert conn.execute("PRAGMA user_version").fetchone() == (0,)
        assert tables(conn) == set()
        assert not conn.in_transaction
        conn.close()

    def test_a_file_from_a_newer_version_is_left_alone(self, tmp_path: Path) -> None:
        """A file migrated by a newer coffee-maker (more steps) is neither re-migrated nor downgraded."""
        conn = connect(tmp_path / "m.db")
        migrate(conn, STEPS)
        assert migrate(conn, STEPS[:1]) == 2
        assert conn.execute("SELECT COUNT(*) FROM t").fetchone() == (2,)
        conn.close()

    def test_function_steps_and_add_column(self, tmp_path: Path) -> None:
        """add_column adds a column only where it is missing, so it is safe on files of unknown shape."""
        with_it, without = tmp_path / "with.db", tmp_path / "without.db"
        for path, schema in ((with_it, "CREATE TABLE q (id TEXT, extra TEXT)"), (without, "CREATE TABLE q (id TEXT)")):
            conn = connect(path)
            conn.execute(schema)
            conn.execute("INSERT INTO q (id) VALUES ('x')")
            assert migrate(conn, (add_column("q", "extra", "TEXT"),)) == 1
            assert [r[1] for r in conn.execute("PRAGMA table_info(q)")] == ["id", "extra"]
            assert conn.execute("SELECT id, extra FROM q").fetchall() == [("x", None)]
            conn.close()

    def test_concurrent_openers_apply_each_step_once(self, tmp_path: Path) -> None:
        """Several connections migrating the same new file at once: the steps run once, nobody fails."""
        path = tmp_path / "m.db"
        start = threading.Barrier(4)
        results: list[int] = []
        errors: list[BaseException] = []

        def open_and_migrate() -> None:
            conn = connect(path)
            try:
                start.wait(10)
                results.append(migrate(conn, STEPS))
            except BaseException as exc:  # reported by the assertion below, not lost in the thread
                errors.append(exc)
            finally:
                conn.close()

        workers = [threading.Thread(target=open_and_migrate) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
        assert errors == [] and results == [2, 2, 2, 2]
        conn = connect(path)
        assert conn.execute("SELECT n FROM t ORDER BY n").fetchall() == [(1,), (2,)]
        conn.close()



def test_connecting_while_another_process_writes_a_new_file_waits_for_it(tmp_path: Path) -> None:
    """A daemon creating its state file while `status` (or the test's reader) has just created it and is
    migrating: switching a file to WAL under another's write lock fails at once — no busy timeout waits for
    it — and the daemon crashed at start with "database is locked"."""
    other = sqlite3.connect(tmp_path / "state.db", isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE t (x)")  # still in rollback-journal mode, as a file is when it is made
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")
    threading.Timer(0.3, lambda: other.execute("COMMIT")).start()
    conn = connect(tmp_path / "state.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]
