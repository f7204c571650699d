"""The telemetry store: attempts, interactions, notifications and pull requests in SQLite.

The daemon writes while CLI commands (``stats``, ``serve``) read, possibly from
other processes, so the database runs in WAL mode (readers never block the
writer), every connection waits on a lock instead of failing (busy_timeout), each
write is one short transaction, and each thread gets its own connection.
The schema carries its version in ``PRAGMA user_version``; ``MIGRATIONS`` are
applied in order by ``sqlite.migrate``, so an older file is upgraded in place.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from coffee_maker.sqlite import ThreadConnections, migrate
from coffee_maker.types import DecisionSource, SourceKind

if TYPE_CHECKING:
    from coffee_maker.config import LoadedConfig

#: Ordered migrations; migration ``n`` moves the schema from version ``n`` to ``n + 1``.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        priority TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        branch TEXT,
        started_at REAL NOT NULL,
        ended_at REAL,
        outcome TEXT,
        cost_usd REAL NOT NULL DEFAULT 0,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        turns INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE interactions (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        priority TEXT,
        phase TEXT,
        interaction_type TEXT NOT NULL,
        question TEXT,
        response TEXT,
        method TEXT,
        channel TEXT,
        channels TEXT,
        response_time_s REAL,
        timed_out INTEGER NOT NULL DEFAULT 0,
        escalated INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE notifications (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        channel TEXT NOT NULL,
        kind TEXT NOT NULL,
        ok INTEGER NOT NULL,
        question_id TEXT
    );
    CREATE TABLE pull_requests (
        id INTEGER PRIMARY KEY,
        priority TEXT NOT NULL,
        number INTEGER NOT NULL,
        url TEXT NOT NULL,
        state TEXT NOT NULL,
        ts REAL NOT NULL
    );
    """,
    """
    ALTER TABLE attempts ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX attempts_started ON attempts(started_at);
    CREATE INDEX interactions_ts ON interactions(ts);
    CREATE INDEX notifications_ts ON notifications(ts);
    CREATE UNIQUE INDEX pull_requests_number ON pull_requests(priority, number);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def _ts(value: Any) -> float:
    """An ISO timestamp (or epoch seconds) → epoch seconds; now when missing or unreadable."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
        except ValueError:
            pass
    return datetime.now(UTC).timestamp()


def _channel(method: str, channels: list[str]) -> str | None:
    """``person:slack:U123`` → ``slack``: the channel that answered (None for rules and timeouts)."""
    source = DecisionSource.parse(method)
    return (source.channel or None) if source.kind is SourceKind.PERSON else None


class Telemetry(Protocol):
    """Where the daemon counts its work (TelemetryStore; NullTelemetry when nothing is counted)."""

    def start_attempt(self, priority: str, attempt: int, branch: str | None) -> int: ...
    def finish_attempt(self, attempt_id: int, *, outcome: str, cost_usd: float, input_tokens: int, output_tokens: int,
                       turns: int, retries: int = 0) -> None: ...
    def record_pull_request(self, priority: str, number: int, url: str, state: str) -> None: ...
    def record_interaction(self, record: Mapping[str, Any]) -> None: ...
    def record_notification(self, channel: str, kind: str, ok: bool, question_id: str | None) -> None: ...
    def close(self) -> None: ...


class NullTelemetry:
    """Counts nothing: the daemon's seam is the same whether telemetry is kept or not."""

    def start_attempt(self, priority: str, attempt: int, branch: str | None) -> int:
        return 0

    def finish_attempt(self, attempt_id: int, *, outcome: str, cost_usd: float, input_tokens: int, output_tokens: int,
                       turns: int, retries: int = 0) -> None:
        return None

    def record_pull_request(self, priority: str, number: int, url: str, state: str) -> None:
        return None

    def record_interaction(self, record: Mapping[str, Any]) -> None:
        return None

    def record_notification(self, channel: str, kind: str, ok: bool, question_id: str | None) -> None:
        return None

    def close(self) -> None:
        return None


class TelemetryStore:
    """Numbers about the daemon's work, for ``coffee-maker stats`` and the metrics endpoint."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = ThreadConnections(self.path)
        migrate(self._conn(), MIGRATIONS)

    @classmethod
    def from_config(cls, loaded: LoadedConfig) -> TelemetryStore:
        """``<state_dir>/<[observe] telemetry_db>`` (``telemetry.db`` by default)."""
        return cls(loaded.layout.telemetry_db)

    def _conn(self) -> sqlite3.Connection:
        return self._db.get()

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._db.write()

    def query(self, sql: str, params: Mapping[str, Any] | tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Run a read-only query on this thread's connection; rows as dicts keyed by column name."""
        cursor = self._conn().execute(sql, params)
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    # ------------------------------------------------------------------ writers

    def start_attempt(self, priority: str, attempt: int, branch: str | None) -> int:
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO attempts (priority, attempt, branch, started_at) VALUES (?, ?, ?, ?)",
                (priority, attempt, branch, datetime.now(UTC).timestamp()))
            return int(cursor.lastrowid or 0)

    def finish_attempt(self, attempt_id: int, *, outcome: str, cost_usd: float, input_tokens: int, output_tokens: int,
                       turns: int, retries: int = 0) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE attempts SET ended_at = ?, outcome = ?, cost_usd = ?, input_tokens = ?, output_tokens = ?, "
                "turns = ?, retries = ? WHERE id = ?",
                (datetime.now(UTC).timestamp(), outcome, float(cost_usd), int(input_tokens), int(output_tokens),
                 int(turns), int(retries), attempt_id))

    def record_interaction(self, record: Mapping[str, Any]) -> None:
        """Store one interaction-log record (the JSONL shape the MessageHandler writes)."""
        self.record_interactions([record])

    def record_interactions(self, records: list[Mapping[str, Any]] | tuple[Mapping[str, Any], ...]) -> None:
        """Store many records in one transaction (imports, benchmarks)."""
        rows = []
        for record in records:
            channels = [str(c) for c in (record.get("channels") or [])]
            method = str(record.get("response_method") or "")
            response_time = record.get("response_time_seconds")
            rows.append((
                _ts(record.get("timestamp")), record.get("priority"), record.get("phase"),
                str(record.get("interaction_type") or "unknown"), record.get("question"),
                None if record.get("response") is None else str(record.get("response")), method,
                _channel(method, channels), json.dumps(channels),
                None if response_time is None else float(response_time), int(bool(record.get("timed_out"))),
                int(bool(record.get("user_notified")) or bool(channels))))
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO interactions (ts, priority, phase, interaction_type, question, response, method, channel,"
                " channels, response_time_s, timed_out, escalated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def record_notification(self, channel: str, kind: str, ok: bool, question_id: str | None) -> None:
        with self._write() as conn:
            conn.execute("INSERT INTO notifications (ts, channel, kind, ok, question_id) VALUES (?, ?, ?, ?, ?)",
                         (datetime.now(UTC).timestamp(), channel, kind, int(bool(ok)), question_id))

    def record_pull_request(self, priority: str, number: int, url: str, state: str) -> None:
        """Insert or update the PR's latest state (one row per priority and number)."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO pull_requests (priority, number, url, state, ts) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (priority, number) DO UPDATE SET url = excluded.url, state = excluded.state, "
                "ts = excluded.ts", (priority, int(number), url, state, datetime.now(UTC).timestamp()))

    def close(self) -> None:
        """Close every thread's connection (call once, when the daemon or command ends)."""
        self._db.close()
