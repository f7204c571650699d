"""The shared SQLite helper: per-thread connections, transactions, closing."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from coffee_maker.sqlite import ThreadConnections


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
