"""The persisted state machine of each priority (SQLite, WAL).

Every transition is committed to disk before the daemon takes the next step, so
a crash at any moment leaves a state the daemon can reconcile with git and the
forge on start-up. Allowed transitions are explicit: an illegal one is a bug and
raises instead of silently corrupting the record.

    planned → branched → agent_running → validating → committed → pushed → pr_open
        → merged → done                          (closed → blocked)
    retry and blocked sit beside the line: any active phase can go to retry or blocked.
    A person moves a priority out of retry, blocked or skipped with `coffee-maker retry`
    (back to planned, attempts reset) and passes over one with `coffee-maker skip`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from coffee_maker.roadmap.planner import Held
from coffee_maker.sqlite import ThreadConnections, migrate

#: The state database's file name inside the state directory.


class Phase(StrEnum):
    PLANNED = "planned"
    BRANCHED = "branched"
    AGENT_RUNNING = "agent_running"
    VALIDATING = "validating"
    COMMITTED = "committed"
    PUSHED = "pushed"
    PR_OPEN = "pr_open"
    MERGED = "merged"
    CLOSED = "closed"
    DONE = "done"
    RETRY = "retry"
    BLOCKED = "blocked"
    SKIPPED = "skipped"


ACTIVE = {Phase.BRANCHED, Phase.AGENT_RUNNING, Phase.VALIDATING, Phase.COMMITTED, Phase.PUSHED}
#: A PR is out: the priority is "in review" and is not picked again.
IN_REVIEW = {Phase.PR_OPEN}
#: The work landed: dependants may go ahead even if the local roadmap file is behind.
FINISHED = {Phase.MERGED, Phase.DONE}

_ALLOWED: dict[Phase, set[Phase]] = {
    # An attempt can fail before it has a branch (its worktree could not be made): retry again.
    Phase.PLANNED: {Phase.BRANCHED, Phase.BLOCKED, Phase.RETRY},
    Phase.RETRY: {Phase.BRANCHED, Phase.BLOCKED, Phase.PLANNED, Phase.RETRY},
    Phase.BRANCHED: {Phase.AGENT_RUNNING},
    Phase.AGENT_RUNNING: {Phase.VALIDATING, Phase.AGENT_RUNNING},
    Phase.VALIDATING: {Phase.AGENT_RUNNING, Phase.COMMITTED},
    Phase.COMMITTED: {Phase.PUSHED},
    Phase.PUSHED: {Phase.PR_OPEN},
    # Review feedback sends the agent back to work on the same branch.
    Phase.PR_OPEN: {Phase.MERGED, Phase.CLOSED, Phase.AGENT_RUNNING, Phase.PR_OPEN},
    Phase.MERGED: {Phase.DONE},
    Phase.CLOSED: {Phase.BLOCKED},
    Phase.DONE: set(),
    # A person unblocks a priority with `coffee-maker retry` or by editing its roadmap entry.
    Phase.BLOCKED: {Phase.PLANNED, Phase.SKIPPED},
    Phase.SKIPPED: {Phase.PLANNED},
}
for _phase in ACTIVE | {Phase.PR_OPEN}:
    _ALLOWED[_phase] |= {Phase.RETRY, Phase.BLOCKED}
# A person merges or closes the PR while the agent fixes feedback on it: the fix ends there.
for _phase in ACTIVE:
    _ALLOWED[_phase] |= {Phase.MERGED, Phase.CLOSED}
#: Start-up reconciliation may also move a priority forward to what the forge shows already happened
#: (its pull request is open or merged) when the state fell behind (a lost or restored state.db).
_RECONCILED: dict[Phase, set[Phase]] = {phase: {Phase.PR_OPEN, Phase.MERGED}
                                        for phase in (*ACTIVE, Phase.PLANNED, Phase.RETRY)}
#: ... and leave a PR to the daemon that took its claim over (``fleet.OtherDaemons.note_taken_over``).
_RECONCILED[Phase.PR_OPEN] = {Phase.SKIPPED}
#: `coffee-maker skip` passes over a priority from any phase where no work of it is out for review or done.
SKIPPABLE = {Phase.PLANNED, Phase.RETRY, Phase.BLOCKED, Phase.CLOSED, *ACTIVE}
#: `coffee-maker retry` takes a priority back from these.
RETRYABLE = {Phase.RETRY, Phase.BLOCKED, Phase.SKIPPED}
for _phase in SKIPPABLE:
    _ALLOWED[_phase] |= {Phase.SKIPPED}


def unblock_hint(priority: str) -> str:
    """The one sentence every place that reports a block ends with."""
    return (f"Run `coffee-maker retry {priority}` (or edit its roadmap entry) to try again, "
            f"or `coffee-maker skip {priority}` to leave it.")


def section_digest(text: str) -> str:
    """A priority section's fingerprint: an edit by the person changes it, trailing spaces do not."""
    normal = "\n".join(line.rstrip() for line in text.strip().splitlines())
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()[:16]


class IllegalTransition(RuntimeError):
    """A transition the state machine does not allow (a bug in the caller)."""


def retry_delay(retry_delay_s: float, failed_attempt: int) -> float:
    """The wait after a failed attempt: it doubles with each failure."""
    return float(retry_delay_s * 2 ** max(0, failed_attempt - 1))


def attempt_number(state: PriorityState | None) -> int:
    """The number of the attempt that starts from ``state``: a new one after planned or retry, else the same one."""
    if state is None:
        return 1
    return state.attempt + 1 if state.phase in (Phase.PLANNED, Phase.RETRY) else state.attempt


@dataclass(frozen=True)
class PriorityState:
    priority: str
    phase: Phase
    attempt: int = 0
    branch: str | None = None
    workspace: str | None = None
    session_id: str | None = None
    commit_sha: str | None = None
    pr_number: int | None = None
    pr_url: str | None = None
    cost_usd: float = 0.0
    reason: str = ""
    updated_at: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def retry_due(self, retry_delay_s: float) -> float:
        """When a priority in retry may be tried again (epoch seconds)."""
        return self.updated_at + retry_delay(retry_delay_s, self.attempt)


#: The schema's steps for sqlite.migrate. Step 1 says IF NOT EXISTS because files made before the
#: schema carried a version (user_version 0) already have these tables, with their rows.
MIGRATIONS = ("""
CREATE TABLE IF NOT EXISTS priorities (
    priority TEXT PRIMARY KEY, phase TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 0,
    branch TEXT, workspace TEXT, session_id TEXT, commit_sha TEXT, pr_number INTEGER, pr_url TEXT,
    cost_usd REAL NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '', updated_at REAL NOT NULL,
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, priority TEXT NOT NULL, from_phase TEXT, to_phase TEXT NOT NULL,
    at REAL NOT NULL, detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS daily_cost (day TEXT PRIMARY KEY, cost_usd REAL NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS daemon (key TEXT PRIMARY KEY, value TEXT NOT NULL);
""",)

_FIELDS = ("attempt", "branch", "workspace", "session_id", "commit_sha", "pr_number", "pr_url", "cost_usd", "reason")


class StateStore:
    """Per-priority phases, transitions, daily cost and the daemon's live status."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # synchronous=FULL: a transition must survive a power cut, not just a crash.
        self._db = ThreadConnections(path, synchronous="FULL", rows=True)
        migrate(self._db.get(), MIGRATIONS)

    def _conn(self) -> sqlite3.Connection:
        return self._db.get()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._db.write()

    def close(self) -> None:
        self._db.close()

    # ----------------------------------------------------------------- priorities

    def get(self, priority: str) -> PriorityState | None:
        row = self._conn().execute("SELECT * FROM priorities WHERE priority = ?", (priority,)).fetchone()
        return _row_to_state(row) if row else None

    def all(self) -> list[PriorityState]:
        rows = self._conn().execute("SELECT * FROM priorities ORDER BY updated_at").fetchall()
        return [_row_to_state(r) for r in rows]

    def in_phases(self, phases: set[Phase]) -> list[PriorityState]:
        """The priorities in any of ``phases``, oldest change first (filtered in SQL: the loop asks often)."""
        return [_row_to_state(r) for r in self._select("*", phases)]

    def ids_in(self, phases: set[Phase]) -> frozenset[str]:
        return frozenset(r[0] for r in self._select("priority", phases))

    def _select(self, columns: str, phases: set[Phase]) -> list[sqlite3.Row]:
        marks = ", ".join("?" * len(phases))
        return self._conn().execute(f"SELECT {columns} FROM priorities WHERE phase IN ({marks}) ORDER BY updated_at",
                                    [p.value for p in phases]).fetchall()

    def transition(self, priority: str, to: Phase, *, detail: str = "", **fields: Any) -> PriorityState:
        """Move ``priority`` to ``to`` (validated) and update ``fields``; durable on return."""
        return self._move(priority, to, detail, fields, _ALLOWED)

    def reconcile(self, priority: str, to: Phase, *, detail: str, **fields: Any) -> PriorityState:
        """Like :meth:`transition`, also allowing the forward moves start-up reconciliation makes."""
        allowed = {phase: _ALLOWED[phase] | _RECONCILED.get(phase, set()) for phase in Phase}
        return self._move(priority, to, detail, fields, allowed)

    def _move(self, priority: str, to: Phase, detail: str, fields: dict[str, Any],
              allowed: dict[Phase, set[Phase]]) -> PriorityState:
        unknown = set(fields) - set(_FIELDS) - {"extra"}
        if unknown:
            raise TypeError(f"unknown state fields: {sorted(unknown)}")
        with self._tx() as db:
            row = db.execute("SELECT * FROM priorities WHERE priority = ?", (priority,)).fetchone()
            current = _row_to_state(row) if row else PriorityState(priority, Phase.PLANNED)
            if row is not None and to not in allowed[current.phase]:
                raise IllegalTransition(f"{priority}: {current.phase} → {to} is not allowed")
            values = {name: fields.get(name, getattr(current, name)) for name in _FIELDS}
            extra = {**current.extra, **fields.get("extra", {})}
            now = time.time()
            db.execute(
                "INSERT OR REPLACE INTO priorities (priority, phase, attempt, branch, workspace, session_id,"
                " commit_sha, pr_number, pr_url, cost_usd, reason, updated_at, extra)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (priority, to.value, *(values[n] for n in _FIELDS), now, json.dumps(extra)),
            )
            db.execute(
                "INSERT INTO transitions (priority, from_phase, to_phase, at, detail) VALUES (?, ?, ?, ?, ?)",
                (priority, current.phase.value if row else None, to.value, now, detail),
            )
        state = self.get(priority)
        assert state is not None
        return state

    def update(self, priority: str, **fields: Any) -> PriorityState:
        """Change fields without changing phase (session id, cost so far)."""
        current = self.get(priority)
        if current is None:
            raise KeyError(priority)
        unknown = set(fields) - set(_FIELDS) - {"extra"}
        if unknown:
            raise TypeError(f"unknown state fields: {sorted(unknown)}")
        names = [n for n in fields if n in _FIELDS]
        values = [fields[n] for n in names]
        if "extra" in fields:
            names.append("extra")
            values.append(json.dumps({**current.extra, **fields["extra"]}))
        sets = "".join(f"{name} = ?, " for name in names)
        with self._tx() as db:
            db.execute(
                f"UPDATE priorities SET {sets}updated_at = ? WHERE priority = ?",  # noqa: S608 — names are whitelisted
                (*values, time.time(), priority),
            )
        state = self.get(priority)
        assert state is not None
        return state

    # ----------------------------------------------------------------- the person's controls

    def retry(self, priority: str, *, detail: str = "retry requested") -> PriorityState:
        """Back to planned with the attempt count reset: from retry, blocked or skipped."""
        return self.transition(priority, Phase.PLANNED, attempt=0, reason="", detail=detail,
                               extra={"section_digest": None})

    def skip(self, priority: str, *, detail: str = "skip requested") -> PriorityState:
        """Pass over ``priority`` (its dependants wait) until `coffee-maker retry` takes it back."""
        return self.transition(priority, Phase.SKIPPED, reason="skipped by request", detail=detail)

    def retry_edited(self, sections: dict[str, str]) -> list[str]:
        """Retry every blocked priority whose roadmap section (id → text) the person edited since it was tried.

        An attempt records the digest of the section it worked from; a blocked priority with none
        (blocked before any attempt, e.g. by a budget cap) gets the current one as its baseline.
        A different digest means the person changed the entry (a clearer goal, a hint): try again.
        """
        retried = []
        for state in self.in_phases({Phase.BLOCKED}):
            text = sections.get(state.priority)
            if text is None:
                continue
            digest = section_digest(text)
            known = state.extra.get("section_digest")
            if known is None:
                self.update(state.priority, extra={"section_digest": digest})
            elif known != digest:
                self.retry(state.priority, detail="its roadmap entry was edited")
                retried.append(state.priority)
        return retried

    def held(self, retry_delay_s: float, *, now: float | None = None) -> Held:
        """What the planner must know from the daemon's state (one read of the table)."""
        now = time.time() if now is None else now
        by_phase: dict[Phase, set[str]] = {}
        retry_at: dict[str, float] = {}
        for state in self.all():
            by_phase.setdefault(state.phase, set()).add(state.priority)
            if state.phase is Phase.RETRY and state.retry_due(retry_delay_s) > now:
                retry_at[state.priority] = state.retry_due(retry_delay_s)

        def ids(phases: set[Phase]) -> frozenset[str]:
            return frozenset().union(*(by_phase.get(p, set()) for p in phases))

        return Held(finished=ids(FINISHED), in_review=ids(IN_REVIEW), blocked=ids({Phase.BLOCKED}),
                    skipped=ids({Phase.SKIPPED}), retry_at=retry_at)

    def history(self, priority: str) -> list[tuple[str | None, str, float, str]]:
        rows = self._conn().execute(
            "SELECT from_phase, to_phase, at, detail FROM transitions WHERE priority = ? ORDER BY id", (priority,)
        ).fetchall()
        return [(r["from_phase"], r["to_phase"], r["at"], r["detail"]) for r in rows]

    # ----------------------------------------------------------------- cost

    def add_cost(self, day: str, usd: float) -> float:
        with self._tx() as db:
            db.execute(
                "INSERT INTO daily_cost (day, cost_usd) VALUES (?, ?)"
                " ON CONFLICT(day) DO UPDATE SET cost_usd = cost_usd + excluded.cost_usd",
                (day, usd),
            )
        return self.day_cost(day)

    def day_cost(self, day: str) -> float:
        row = self._conn().execute("SELECT cost_usd FROM daily_cost WHERE day = ?", (day,)).fetchone()
        return float(row["cost_usd"]) if row else 0.0

    # ----------------------------------------------------------------- live status (for `status`)

    def set_info(self, **values: Any) -> None:
        with self._tx() as db:
            for key, value in values.items():
                db.execute(
                    "INSERT OR REPLACE INTO daemon (key, value) VALUES (?, ?)", (key, json.dumps(value, default=str))
                )

    def info(self) -> dict[str, Any]:
        rows = self._conn().execute("SELECT key, value FROM daemon").fetchall()
        return {r["key"]: json.loads(r["value"]) for r in rows}


def _row_to_state(row: sqlite3.Row) -> PriorityState:
    return PriorityState(
        priority=row["priority"], phase=Phase(row["phase"]), attempt=row["attempt"], branch=row["branch"],
        workspace=row["workspace"], session_id=row["session_id"], commit_sha=row["commit_sha"],
        pr_number=row["pr_number"], pr_url=row["pr_url"], cost_usd=row["cost_usd"], reason=row["reason"],
        updated_at=row["updated_at"], extra=json.loads(row["extra"] or "{}"),
    )
