"""The numbers of each attempt (outcome, cost, tokens, turns, its PR) in the telemetry store.

A write that fails is logged and dropped: numbers must never stop the work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import structlog

from coffee_maker.daemon.record import AttemptRecord
from coffee_maker.daemon.state import PriorityState
from coffee_maker.observe.telemetry import Telemetry

log = structlog.get_logger(__name__)

T = TypeVar("T")


class AttemptCounter:
    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry

    def started(self, priority: str, attempt: int, branch: str | None) -> int | None:
        """The attempt's row id (None when the write failed: its end is not counted either)."""
        return _quietly(lambda: self.telemetry.start_attempt(priority, attempt, branch))

    def finished(self, row: int | None, outcome: str, record: AttemptRecord | None, after: PriorityState | None) -> None:
        if row is not None:
            _quietly(lambda: self.telemetry.finish_attempt(
                row, outcome=outcome, cost_usd=record.cost_usd if record else 0.0,
                input_tokens=_tokens(record, "input_tokens"), output_tokens=_tokens(record, "output_tokens"),
                turns=record.turns if record else 0))
        if after is not None and after.pr_url and after.pr_number is not None:
            number, url = after.pr_number, after.pr_url
            _quietly(lambda: self.telemetry.record_pull_request(after.priority, number, url, after.phase.value))


def _quietly(write: Callable[[], T]) -> T | None:
    try:
        return write()
    except Exception:  # noqa: BLE001 — numbers must never stop the work
        log.warning("telemetry write failed", exc_info=True)
        return None


def _tokens(record: AttemptRecord | None, key: str) -> int:
    if record is None or record.outcome is None:
        return 0
    value = record.outcome.usage.get(key, 0)
    return int(value) if isinstance(value, (int, float)) else 0
