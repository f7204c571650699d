"""The numbers sink: where decisions and notifications are counted (telemetry, `coffee-maker stats`).

Why a Protocol here and not an import: the telemetry store lives in ``observe/``
and is wired by the daemon; the handler and the escalator only need this shape,
so either side can change without the other, and tests pass a list-backed fake.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from coffee_maker.types import Decision


@runtime_checkable
class InteractionSink(Protocol):
    """Receives every interaction-log record and every channel delivery attempt."""

    def record_interaction(self, record: dict[str, Any]) -> None:
        """One record, exactly the (redacted) line written to the interaction log."""

    def record_notification(self, channel: str, kind: str, ok: bool, question_id: str | None) -> None:
        """One channel call: kind is ask, resolve, reprompt, timeout or info; ok False when it failed."""


class MemorySink:
    """A sink that keeps everything in lists — for tests and the demo."""

    def __init__(self) -> None:
        self.interactions: list[dict[str, Any]] = []
        self.notifications: list[tuple[str, str, bool, str | None]] = []

    def record_interaction(self, record: dict[str, Any]) -> None:
        self.interactions.append(record)

    def record_notification(self, channel: str, kind: str, ok: bool, question_id: str | None) -> None:
        self.notifications.append((channel, kind, ok, question_id))


class DecisionTracer(Protocol):
    """Receives every decision for the trace of the attempt running now (``observe.tracing.Tracer``)."""

    def decision(self, request_summary: str, decision: Decision, channels: Sequence[str], timeout_s: float) -> None: ...
