"""The wait after a limit: the reported reset, else a short wait doubling up to the ceiling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from coffee_maker.daemon.limits import limit_wait
from coffee_maker.types import OutcomeKind, SessionOutcome

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def outcome(kind: OutcomeKind, reset_at: datetime | None = None) -> SessionOutcome:
    return SessionOutcome(kind=kind, is_error=True, reason=kind.value, reset_at=reset_at)


class TestLimitWait:
    def test_rate_limit_without_reset_doubles_up_to_the_ceiling(self) -> None:
        """15 s, 30 s, 60 s … never more than usage_limit_backoff_s."""
        waits = [limit_wait(outcome(OutcomeKind.RATE_LIMIT), n, start_s=15, ceiling_s=100, now=NOW) for n in range(5)]
        assert waits == [15, 30, 60, 100, 100]

    def test_overload_backs_off_the_same_way(self) -> None:
        """A 529 without a reset time is as short-lived as a 429."""
        assert limit_wait(outcome(OutcomeKind.OVERLOADED), 1, start_s=10, ceiling_s=900, now=NOW) == 20

    def test_a_reported_reset_wins(self) -> None:
        """A limit that says when it resets is waited out exactly, whatever the streak."""
        reset = NOW + timedelta(minutes=7)
        assert limit_wait(outcome(OutcomeKind.RATE_LIMIT, reset), 3, start_s=15, ceiling_s=900, now=NOW) == 420

    def test_usage_limit_without_reset_waits_the_ceiling(self) -> None:
        """A usage limit lasts hours: no fast probing."""
        assert limit_wait(outcome(OutcomeKind.USAGE_LIMIT), 0, start_s=15, ceiling_s=900, now=NOW) == 900

