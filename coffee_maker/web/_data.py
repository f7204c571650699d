"""What each page shows, read from the daemon's own SQLite files and the roadmap.

The page reads the same files `coffee-maker status`, `pending` and `stats` read
(state.db, inbox.db, telemetry.db), each through its per-thread connection, so a
request never waits on the daemon's loop and the daemon never waits on a browser.
Every string that reaches a template passes the interaction log's redaction
(the template environment's ``finalize``), so no secret is ever shown.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from coffee_maker.config import LoadedConfig
from coffee_maker.daemon.state import IN_REVIEW, Phase, StateStore
from coffee_maker.daemon.status import running_lanes
from coffee_maker.errors import CoffeeMakerError
from coffee_maker.notify.inbox import Inbox, PendingQuestion
from coffee_maker.observe.telemetry import TelemetryStore
from coffee_maker.roadmap import explain, read_roadmap

HISTORY_PAGE = 50
CHART_DAYS = 14
#: History filters: query parameter → column of the telemetry ``interactions`` table.
FILTERS = {"decision": "response", "rule": "method", "class": "interaction_type", "channel": "channel",
           "priority": "priority"}


@dataclass
class Sources:
    """The daemon's files, opened once per server (connections are per thread)."""

    loaded: LoadedConfig
    store: StateStore
    inbox: Inbox
    telemetry: TelemetryStore
    history: HistorySummary

    @classmethod
    def open(cls, loaded: LoadedConfig) -> Sources:
        loaded.state_dir.mkdir(parents=True, exist_ok=True)
        telemetry = TelemetryStore.from_config(loaded)
        return cls(loaded, StateStore(loaded.layout.state_db), Inbox(loaded.layout.inbox_db),
                   telemetry, HistorySummary(telemetry))

    def close(self) -> None:
        for part in (self.store, self.inbox, self.telemetry):
            part.close()


def _today() -> str:
    return time.strftime("%Y-%m-%d")


def _lane_of(info: dict[str, Any]) -> dict[str, int]:
    """Priority → the lane working on it now."""
    return {str(lane["priority"]): lane["lane"] for lane in running_lanes(info, cost={}, questions={})
            if lane["priority"]}


def question_view(inbox: Inbox, q: PendingQuestion, now: float, lanes: dict[str, int]) -> dict[str, Any]:
    context = inbox.context(q.id)
    severity = str(context.get("severity") or "")
    return {
        "id": q.id, "priority": q.priority or "", "lane": lanes.get(q.priority or ""), "kind": q.kind, "text": q.text, "options": list(q.options),
        "free_text": not q.options, "safe_default": q.safe_default, "rank": q.rank,
        "seconds_left": max(0, int(q.timeout_at - now)), "timeout_at": q.timeout_at, "rule": str(context.get("rule") or ""),
        "reason": str(context.get("reason") or ""), "severity": severity,
        # High-severity requests may be answerable only from some channels (the trust tiers).
        "answer_from": list(q.answer_from),
        "context": {k: v for k, v in context.items() if k not in {"rule", "reason", "severity"}},
        "status": q.status, "answer": q.answer, "answered_by": q.answered_by, "channel": q.channel,
        "answered_at": q.answered_at,
    }


def inbox_page(src: Sources) -> dict[str, Any]:
    now = time.time()
    pending = sorted(src.inbox.waiting(), key=lambda q: q.created, reverse=True)  # newest first
    # Asked by a daemon that has stopped: shown without buttons, they come back when it resumes.
    stopped = sorted(src.inbox.asker_stopped(), key=lambda q: q.created, reverse=True)
    lanes = _lane_of(src.store.info())
    return {"pending": [question_view(src.inbox, q, now, lanes) for q in pending],
            "stopped": [question_view(src.inbox, q, now, lanes) for q in stopped],
            "settled": [question_view(src.inbox, q, now, lanes) for q in src.inbox.recent(10)]}


def _roadmap(src: Sources) -> tuple[list[Any], str | None]:
    try:
        _, roadmap = read_roadmap(src.loaded.roadmap_path)
    except CoffeeMakerError as exc:
        return [], str(exc)
    return [roadmap], None


def overview_page(src: Sources) -> dict[str, Any]:
    info = src.store.info()
    settings = src.loaded.config.daemon
    pending = src.inbox.waiting()
    lanes = _lane_cards(src, info, pending)
    taken = frozenset(str(lane["priority"]) for lane in lanes if lane["priority"])
    blocked = src.store.in_phases({Phase.BLOCKED})
    roadmaps, roadmap_error = _roadmap(src)
    next_up: dict[str, Any] | None = None
    skipped: list[dict[str, str]] = []
    if roadmaps:
        # The lanes' own priorities are not "next": plan as if they were taken, and leave them out of the reasons.
        chosen, skips = explain(roadmaps[0], in_review=src.store.ids_in(IN_REVIEW) | taken,
                                blocked=src.store.ids_in({Phase.BLOCKED}))
        next_up = {"id": chosen.id, "title": chosen.title} if chosen else None
        skipped = [{"id": s.priority.id, "title": s.priority.title, "reason": s.reason} for s in skips
                   if s.priority.id not in taken]
    return {
        "lanes": lanes, "paused_by": info.get("paused_by"), "heartbeat": info.get("heartbeat"),
        "pending_count": len(pending),
        "spend": {"today": src.store.day_cost(_today()), "soft": settings.daily_soft_cap_usd,
                  "hard": settings.daily_hard_cap_usd},
        "next_up": next_up, "skipped": skipped, "roadmap_error": roadmap_error,
        "blocked": [{"id": b.priority, "reason": b.reason, "attempt": b.attempt, "branch": b.branch} for b in blocked],
    }


def _lane_cards(src: Sources, info: dict[str, Any], pending: list[PendingQuestion]) -> list[dict[str, Any]]:
    """A card per running lane (the rows `status` lists); one card for the daemon when no lane runs."""
    questions: dict[str, str] = {}
    for q in pending:
        questions.setdefault(q.priority or "", f"you: question {q.id} in the inbox")
    states = {s.priority: s for s in src.store.all()}
    running = running_lanes(info, cost={pid: s.cost_usd for pid, s in states.items()}, questions=questions)
    cards = []
    for lane in running:
        state = states.get(str(lane["priority"]))
        cards.append({**lane, "number": lane["lane"], "phase": lane["phase"] or "working",
                      "attempt": state.attempt if state else None,
                      "waiting_for": lane["waiting_for"] or _waiting_for(info, [], working=True),
                      "last_outcome": None})
    if cards:
        return cards
    current = info.get("current")  # `run --once` works without lane rows
    state = states.get(current) if current else None
    started = info.get("started")
    return [{
        "number": 1, "priority": current, "phase": info.get("phase") or "not started",
        "elapsed_s": int(time.time() - started) if current and started else None, "started": started,
        "cost_usd": state.cost_usd if state else None, "attempt": state.attempt if state else None,
        "waiting_for": _waiting_for(info, [q for q in pending if q.priority == current] if current else [],
                                    bool(current)),
        "last_outcome": info.get("last_outcome"),
    }]


def _waiting_for(info: dict[str, Any], waiting: list[PendingQuestion], working: bool) -> str:
    if info.get("paused_by"):
        return f"paused by {info['paused_by']}: no new priority starts until you resume"
    if info.get("phase") == "paused":
        until = info.get("paused_until")
        when = f" until {datetime.fromtimestamp(until, UTC):%H:%M} UTC" if isinstance(until, (int, float)) else ""
        return f"a usage limit or the daily budget{when}"
    if waiting:
        return f"you: question {waiting[0].id} in the inbox"
    if working:
        return "the agent"
    return "a roadmap change or the next poll"


def roadmap_page(src: Sources) -> dict[str, Any]:
    roadmaps, error = _roadmap(src)
    states = {s.priority: s for s in src.store.all()}
    rows = []
    for p in roadmaps[0].priorities if roadmaps else []:
        s = states.get(p.id)
        rows.append({"id": p.id, "title": p.title, "status": p.status.value, "dependencies": list(p.dependencies),
                     "phase": s.phase.value if s else None, "branch": s.branch if s else None,
                     "pr_url": s.pr_url if s else None, "reason": s.reason if s else "",
                     "cost_usd": s.cost_usd if s else 0.0,
                     "done": sum(1 for d in p.deliverables if d.checked), "deliverables": len(p.deliverables)})
    return {"priorities": rows, "roadmap_error": error}


class HistorySummary:
    """Counts behind the history charts and filter menus, kept up to date incrementally.

    Scanning 100,000 interactions for every page view costs ~1.5 s here (six aggregate
    queries of ~250 ms each); reading only the rows added since the last view (``id >``
    the last seen id, a rowid range) costs well under a millisecond. The first pass runs
    when the server starts, in the background.
    """

    def __init__(self, telemetry: TelemetryStore) -> None:
        self.telemetry = telemetry
        self._lock = threading.Lock()
        self._last_id = 0
        self._by_day: dict[str, list[int]] = {}  # day → [decided by rule, asked a person]
        self._by_channel: dict[str, list[float]] = {}  # channel → [total response seconds, answers]
        self._choices: dict[str, set[str]] = {name: set() for name in FILTERS}

    def refresh(self) -> None:
        with self._lock:
            rows = self.telemetry.query(
                "SELECT id, date(ts, 'unixepoch') AS day, priority, interaction_type, response, method, channel,"
                " response_time_s, timed_out, escalated FROM interactions WHERE id > ? ORDER BY id", (self._last_id,))
            for row in rows:
                counts = self._by_day.setdefault(row["day"], [0, 0])
                counts[1 if row["escalated"] else 0] += 1
                if row["escalated"] and row["channel"] and not row["timed_out"] and row["response_time_s"] is not None:
                    totals = self._by_channel.setdefault(row["channel"], [0.0, 0.0])
                    totals[0] += row["response_time_s"]
                    totals[1] += 1
                for name, column in FILTERS.items():
                    value = row[column]
                    if value is not None and len(self._choices[name]) < 200:
                        self._choices[name].add(str(value))
            if rows:
                self._last_id = rows[-1]["id"]

    def charts(self, since_day: str) -> tuple[list[tuple[str, float, float]], list[tuple[str, float, float]]]:
        self.refresh()
        with self._lock:
            decided = [(day[5:], float(a), float(b)) for day, (a, b) in sorted(self._by_day.items()) if day >= since_day]
            response = [(channel, total / n, n) for channel, (total, n) in sorted(self._by_channel.items()) if n]
        return decided, response

    def choices(self) -> dict[str, list[str]]:
        with self._lock:
            return {name: sorted(values)[:50] for name, values in self._choices.items()}


def history_page(src: Sources, params: dict[str, str]) -> dict[str, Any]:
    where: list[str] = []
    args: list[object] = []
    for name, column in FILTERS.items():
        value = params.get(name, "").strip()
        if value:
            where.append(f"{column} = ?")
            args.append(value)
    before = params.get("before", "")
    if before.isdigit():
        where.append("id < ?")
        args.append(int(before))
    sql = ("SELECT id, ts, priority, interaction_type, question, response, method, channel, response_time_s,"
           " timed_out, escalated FROM interactions" + (" WHERE " + " AND ".join(where) if where else "")
           + " ORDER BY id DESC LIMIT ?")
    rows = src.telemetry.query(sql, (*args, HISTORY_PAGE + 1))
    since = time.time() - CHART_DAYS * 86400
    decided, response = src.history.charts(datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%d"))
    cost = src.telemetry.query(  # attempts are few (one per priority try) and their cost is updated: read directly
        "SELECT date(started_at, 'unixepoch') AS day, SUM(cost_usd) AS usd FROM attempts WHERE started_at >= ?"
        " GROUP BY day ORDER BY day", (since,))
    return {"rows": rows[:HISTORY_PAGE], "older": rows[HISTORY_PAGE - 1]["id"] if len(rows) > HISTORY_PAGE else None,
            "filters": {k: params.get(k, "") for k in FILTERS}, "choices": src.history.choices(),
            "charts": {"cost": [(r["day"][5:], float(r["usd"] or 0), 0.0) for r in cost], "decided": decided,
                       "response": response}}
