"""Classifying failures, parsing reset times, spotting a final question."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from coffee_maker.agent.outcomes import classify_error, final_question, is_limit_notice, parse_reset
from coffee_maker.types import OutcomeKind

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


class TestClassify:
    @pytest.mark.parametrize(("text", "status", "kind"), [
        ("API Error: 529 Overloaded. This is a server-side issue", 529, OutcomeKind.OVERLOADED),
        ("Invalid API key · Fix external API key", 401, OutcomeKind.AUTH_FAILED),
        ("API Error: Request rejected (429) · Rate limited", 429, OutcomeKind.RATE_LIMIT),
        ("API Error: Request rejected (429) · You've hit your limit · resets 3pm", 429, OutcomeKind.USAGE_LIMIT),
        ("Claude AI usage limit reached|1767225600", None, OutcomeKind.USAGE_LIMIT),
        ("API Error: 500 Internal server error", 500, OutcomeKind.ERROR),
    ])
    def test_kinds(self, text: str, status: int | None, kind: OutcomeKind) -> None:
        """Each known failure text maps to its outcome kind."""
        assert classify_error(text, status) is kind

    def test_limit_notice(self) -> None:
        """Only a short text that starts like a limit notice counts as one."""
        assert is_limit_notice("5-hour limit reached ∙ resets 3pm")
        assert not is_limit_notice("I fixed the rate limit bug.")


class TestParseReset:
    def test_epoch(self) -> None:
        """`|<epoch>` is an exact reset time."""
        assert parse_reset("Claude AI usage limit reached|1767225600") == datetime(2026, 1, 1, tzinfo=UTC)

    def test_clock_time_with_zone(self) -> None:
        """`resets 3pm (Europe/Paris)` is the next 15:00 in Paris."""
        assert parse_reset("limit reached ∙ resets 3pm (Europe/Paris)", NOW) == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)

    def test_past_clock_time_is_tomorrow(self) -> None:
        """A time already past today means tomorrow (UTC without a zone)."""
        assert parse_reset("resets 9:30am", NOW) == datetime(2026, 11, 24, 9, 30, tzinfo=UTC)

    def test_date_and_relative(self) -> None:
        """`resets Dec 1, 5pm` and `try again in 2h 5m` are understood; nothing else is invented."""
        assert parse_reset("resets Dec 1, 5pm", NOW) == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
        assert parse_reset("Try again in 2h 5m", NOW) == datetime(2026, 11, 23, 12, 5, tzinfo=UTC)
        assert parse_reset("no time here", NOW) is None


class TestFinalQuestion:
    def test_last_paragraph_question(self) -> None:
        """The last paragraph ending with '?' is the question."""
        assert final_question("Done A.\n\nShould I also do B?") == "Should I also do B?"

    def test_question_earlier_is_not_final(self) -> None:
        """A question followed by a statement is not a final question."""
        assert final_question("Should I?\n\nI did it anyway.") is None and final_question("") is None
