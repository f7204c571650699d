"""What the telemetry says: cost, time, success, escalations, response times — computed in SQL.

Every number is an aggregate query (GROUP BY, window functions for percentiles),
so ``coffee-maker stats`` stays fast with hundreds of thousands of interactions.
Percentiles use the nearest-rank method: p50 of n values is the ⌈0.5·n⌉-th smallest.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from coffee_maker.observe.telemetry import TelemetryStore

#: Attempt outcomes that count as success (the daemon reports the phase it reached).
SUCCESS_OUTCOMES = ("pr_open", "merged", "done", "success")
BLOCKED_OUTCOMES = ("blocked",)
TOP_QUESTIONS = 10


def parse_since(text: str | None, *, now: datetime | None = None) -> float | None:
    """``7d`` / ``24h`` / ``30m`` / ``2w`` or an ISO date(time) → epoch seconds; None for everything."""
    if not text:
        return None
    now = now or datetime.now(UTC)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*", text)
    if match:
        unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[match.group(2)]
        return (now - timedelta(**{unit: float(match.group(1))})).timestamp()
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"--since {text!r} is neither a duration (7d, 24h, 30m) nor an ISO date (2026-11-01).") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _rows(store: TelemetryStore, sql: str, since: float) -> list[dict[str, Any]]:
    return store.query(sql, {"since": since})


def _one(store: TelemetryStore, sql: str, since: float) -> dict[str, Any]:
    rows = _rows(store, sql, since)
    return rows[0] if rows else {}


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def compute(store: TelemetryStore, since: float | None = None) -> dict[str, Any]:
    """Every statistic ``coffee-maker stats`` shows, as plain JSON-able values."""
    s = since if since is not None else 0.0
    done = "ended_at IS NOT NULL"
    attempts = _one(store, f"""
        SELECT COUNT(*) AS attempts,
               COALESCE(SUM(outcome IN {_in(SUCCESS_OUTCOMES)}), 0) AS succeeded,
               COALESCE(SUM(outcome IN {_in(BLOCKED_OUTCOMES)}), 0) AS blocked,
               COALESCE(SUM(cost_usd), 0.0) AS cost_usd,
               COALESCE(SUM(ended_at - started_at), 0.0) AS time_s,
               COALESCE(SUM(input_tokens), 0) AS input_tokens, COALESCE(SUM(output_tokens), 0) AS output_tokens,
               COALESCE(SUM(turns), 0) AS turns, COALESCE(SUM(retries), 0) AS retries
        FROM attempts WHERE started_at >= :since AND {done}""", s)
    finished = attempts.get("attempts") or 0
    attempts["success_rate"] = (attempts["succeeded"] / finished) if finished else None
    attempts["blocked_rate"] = (attempts["blocked"] / finished) if finished else None
    attempts["by_outcome"] = {r["outcome"]: r["n"] for r in _rows(store, f"""
        SELECT outcome, COUNT(*) AS n FROM attempts WHERE started_at >= :since AND {done}
        GROUP BY outcome ORDER BY n DESC""", s)}
    per_priority = _rows(store, f"""
        SELECT priority, COUNT(*) AS attempts, SUM(cost_usd) AS cost_usd,
               COALESCE(SUM(ended_at - started_at), 0.0) AS time_s,
               SUM(outcome IN {_in(SUCCESS_OUTCOMES)}) AS succeeded, SUM(outcome IN {_in(BLOCKED_OUTCOMES)}) AS blocked,
               SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, SUM(turns) AS turns
        FROM attempts WHERE started_at >= :since AND {done} GROUP BY priority ORDER BY cost_usd DESC""", s)
    per_day = _rows(store, f"""
        SELECT date(started_at, 'unixepoch') AS day, COUNT(*) AS attempts, SUM(cost_usd) AS cost_usd,
               COALESCE(SUM(ended_at - started_at), 0.0) AS time_s
        FROM attempts WHERE started_at >= :since AND {done} GROUP BY day ORDER BY day""", s)
    interactions = _one(store, """
        SELECT COUNT(*) AS total, COALESCE(SUM(escalated = 0), 0) AS auto_answered,
               COALESCE(SUM(escalated), 0) AS escalated, COALESCE(SUM(timed_out), 0) AS timed_out,
               COALESCE(SUM(CASE WHEN escalated THEN response_time_s END), 0.0) AS waiting_on_people_s
        FROM interactions WHERE ts >= :since""", s)
    total = interactions.get("total") or 0
    interactions["auto_rate"] = (interactions["auto_answered"] / total) if total else None
    interactions["timeout_rate"] = (interactions["timed_out"] / total) if total else None
    interactions["by_kind"] = _rows(store, """
        SELECT interaction_type AS kind, COUNT(*) AS total, SUM(escalated) AS escalated, SUM(timed_out) AS timed_out,
               CAST(SUM(timed_out) AS REAL) / COUNT(*) AS timeout_rate
        FROM interactions WHERE ts >= :since GROUP BY interaction_type ORDER BY total DESC""", s)
    response_times = _rows(store, """
        WITH ranked AS (
            SELECT channel, response_time_s AS t,
                   ROW_NUMBER() OVER (PARTITION BY channel ORDER BY response_time_s) AS rn,
                   COUNT(*) OVER (PARTITION BY channel) AS n
            FROM interactions
            WHERE ts >= :since AND channel IS NOT NULL AND response_time_s IS NOT NULL)
        SELECT channel, MAX(n) AS answers, MIN(CASE WHEN rn >= 0.5 * n THEN t END) AS p50_s,
               MIN(CASE WHEN rn >= 0.95 * n THEN t END) AS p95_s, AVG(t) AS mean_s, SUM(t) AS sum_s
        FROM ranked GROUP BY channel ORDER BY channel""", s)
    top = _rows(store, f"""
        SELECT question, COUNT(*) AS times, SUM(timed_out) AS timed_out, AVG(response_time_s) AS mean_response_s
        FROM interactions WHERE ts >= :since AND escalated
        GROUP BY question ORDER BY times DESC, question LIMIT {TOP_QUESTIONS}""", s)
    notifications = _rows(store, """
        SELECT channel, COUNT(*) AS sent, SUM(ok) AS ok, COUNT(*) - SUM(ok) AS failed
        FROM notifications WHERE ts >= :since GROUP BY channel ORDER BY channel""", s)
    pull_requests = {r["state"]: r["n"] for r in _rows(store, """
        SELECT state, COUNT(*) AS n FROM pull_requests WHERE ts >= :since GROUP BY state""", s)}
    return {
        "since": datetime.fromtimestamp(since, UTC).isoformat(timespec="seconds") if since is not None else None,
        "attempts": attempts, "per_priority": per_priority, "per_day": per_day, "interactions": interactions,
        "response_time_by_channel": response_times, "top_escalated_questions": top,
        "notifications_by_channel": notifications, "pull_requests_by_state": pull_requests,
    }
