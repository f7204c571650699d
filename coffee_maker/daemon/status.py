"""The daemon's live status, in one home: what `status` and the web page show while it runs.

Why named writes: eleven ``set_info(phase=…, current=…)`` calls spread over the loop and the
failure policy could each leave the fields half-updated; here each situation writes all of its
fields together. The stored keys (``phase``, ``current``, ``waiting_for``, ``last_outcome``,
``paused_until``) stay as the readers know them; with lanes they show the lane that changed last, and
``lanes`` holds every running lane (priority, step, started, waiting_for), written in the same write
as the single-lane keys. Which lane writes is bound per thread (``bind_lane`` in the lane's thread,
like the log context), so the loop and the failure policy call the same board whatever the lane. ``phase`` holds the live status below, or,
while working, the step the attempt is in ("agent running", "validating", …). ``Phase`` (the
state machine of a priority) is a different thing and lives in ``daemon/state.py``.
"""

from __future__ import annotations

import threading
import time
from enum import StrEnum
from typing import Any

from coffee_maker.daemon.state import StateStore

#: What a daemon that spent the day's budget waits for (`status`, the web page, the idle line).
DAILY_BUDGET_WAIT = "the daily budget to reset tomorrow (daily_hard_cap_usd)"


class LiveStatus(StrEnum):
    IDLE = "idle"
    WORKING = "working"
    PAUSED = "paused"  # a limit or the daily budget
    WAITING = "waiting"  # for a person to fix something (an unpushed roadmap, an empty remote)


class LaneTable:
    """The running lanes as `status` reads them (the ``lanes`` key); one lock for every lane's board."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: dict[int, dict[str, Any]] = {}

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {str(lane): dict(row) for lane, row in sorted(self.rows.items())}


class StatusBoard:
    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.table = LaneTable()
        self._local = threading.local()

    @property
    def lane(self) -> int | None:
        """The lane of the calling thread (None: the main thread, or `run --once`)."""
        return getattr(self._local, "lane", None)

    def bind_lane(self, lane: int | None) -> None:
        self._local.lane = lane

    def _write(self, row: dict[str, Any] | None = None, *, drop: bool = False, **values: Any) -> None:
        if self.lane is None:
            self.store.set_info(**values)
            return
        with self.table.lock:  # read-modify-write of one key shared by the lanes
            if drop:
                self.table.rows.pop(self.lane, None)
            elif row is not None:
                self.table.rows.setdefault(self.lane, {}).update(row)
            self.store.set_info(lanes=self.table.snapshot(), **values)

    def no_lanes(self) -> None:
        """A continuous run starts: rows left by an earlier run (a crash) are gone."""
        with self.table.lock:
            self.table.rows.clear()
            self.store.set_info(lanes={})

    def heartbeat(self) -> None:
        self.store.set_info(heartbeat=time.time())

    def working(self, pid: str) -> None:
        now = time.time()
        self._write({"priority": pid, "step": LiveStatus.WORKING.value, "started": now, "waiting_for": None},
                    current=pid, phase=LiveStatus.WORKING.value, started=now, waiting_for=None, last_action=None)

    def step(self, name: str) -> None:
        """The step the attempt is in, shown instead of "working"."""
        self._write({"step": name, "waiting_for": None}, phase=name)

    def finished(self) -> None:
        """The attempt is over, whatever its end; with lanes the single-lane keys show a lane still running."""
        if self.lane is None:
            self.store.set_info(current=None, phase=LiveStatus.IDLE.value)
            return
        with self.table.lock:
            self.table.rows.pop(self.lane, None)
            other = next(iter(self.table.rows.values()), None)
            keys: dict[str, Any] = {"current": None, "phase": LiveStatus.IDLE.value} if other is None else {
                "current": other.get("priority"), "phase": other.get("step"), "started": other.get("started")}
            self.store.set_info(lanes=self.table.snapshot(), **keys)

    def waiting(self, what: str | None) -> None:
        """What this lane's attempt waits for now (another PR's merge), None when it goes on."""
        self._write({"waiting_for": what}, waiting_for=what)

    def idle(self, waiting_for: str) -> None:
        self.store.set_info(phase=LiveStatus.IDLE.value, current=None, waiting_for=waiting_for)

    def waiting_for_retry(self, what: str) -> None:
        self.store.set_info(phase=LiveStatus.IDLE.value, waiting_for=what)

    def waiting_for_fix(self, problem: str) -> None:
        self.store.set_info(phase=LiveStatus.WAITING.value, waiting_for=problem, problem=problem)

    def fixed(self) -> None:
        self.store.set_info(problem=None, waiting_for=None)

    def paused(self, pid: str, *, until: float, why: str, limit: str) -> None:
        self._write({"step": LiveStatus.PAUSED.value, "waiting_for": why, "paused_until": until},
                    phase=LiveStatus.PAUSED.value, paused_until=until, last_outcome=f"{pid}: {limit}",
                    waiting_for=why)

    def paused_for_the_day(self) -> None:
        """Written with what it waits for, so no reader sees the pause without its reason."""
        self.store.set_info(phase=LiveStatus.PAUSED.value, last_outcome="daily budget reached",
                            waiting_for=DAILY_BUDGET_WAIT)

    def outcome(self, pid: str, text: str) -> None:
        self.store.set_info(last_outcome=f"{pid}: {text}")


def running_lanes(info: dict[str, Any], *, cost: dict[str, float], questions: dict[str, str],
                  now: float | None = None) -> list[dict[str, Any]]:
    """Each running lane as `status` and the web page show it: priority, phase, elapsed, cost, and
    what it waits for — a person's question first (``questions``: priority → how the reader says it)."""
    rows = info.get("lanes") or {}
    if not isinstance(rows, dict):
        return []
    now = time.time() if now is None else now
    lanes = []
    for lane, row in sorted(rows.items(), key=lambda item: int(item[0])):
        pid = row.get("priority")
        started = row.get("started")
        timed = isinstance(started, (int, float))
        lanes.append({"lane": int(lane), "priority": pid, "phase": row.get("step"),
                      "started": started if timed else None, "elapsed_s": round(now - started) if timed else None,
                      "cost_usd": cost.get(pid), "waiting_for": questions.get(pid) or row.get("waiting_for")})
    return lanes
