"""How long to wait after the agent hit a limit (pure: the outcome and the history in, seconds out).

Why: a usage limit (hours) usually says when it resets; an API rate limit (HTTP 429) or an
overload (529) usually does not, and lifts within seconds to a minute. A fixed 15-minute
sleep for those wastes most of it; retrying at once hammers the API. So: a short first wait,
doubled on each consecutive limit of the same priority, capped at ``usage_limit_backoff_s``.
Each "probe" is the resumed session itself, which costs nothing while the API still answers
429 (no tokens are charged for a rejected request) and is real progress once it lifts.
"""

from __future__ import annotations

from datetime import UTC, datetime

from coffee_maker.types import OutcomeKind, SessionOutcome

#: Limits that lift by themselves within seconds or minutes.
SHORT_LIVED = frozenset({OutcomeKind.RATE_LIMIT, OutcomeKind.OVERLOADED})


def limit_wait(outcome: SessionOutcome, streak: int, *, start_s: float, ceiling_s: float,
               now: datetime | None = None) -> float:
    """Seconds to wait: until the reported reset; else ``start_s * 2**streak`` (capped) for a rate
    limit or an overload, ``streak`` being how many came just before this one; else the ceiling."""
    if outcome.reset_at is not None:
        reset = outcome.reset_at if outcome.reset_at.tzinfo else outcome.reset_at.replace(tzinfo=UTC)
        return max(1.0, (reset - (now or datetime.now(UTC))).total_seconds())
    if outcome.kind in SHORT_LIVED:
        return float(min(ceiling_s, start_s * 2 ** max(0, streak)))
    return float(ceiling_s)

