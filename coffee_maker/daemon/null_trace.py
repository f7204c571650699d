"""A tracer that records nothing, for when no tracer is wired (unit tests, dry runs)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class _NullSpan:
    def end(self, **_: Any) -> None:
        return None


class NullAttemptTrace:
    def set_session(self, session_id: str | None) -> None:
        return None

    @contextmanager
    def span(self, name: str, **_: Any) -> Iterator[_NullSpan]:
        yield _NullSpan()

    def generation(self, *args: Any, **kwargs: Any) -> None:
        return None

    def decision(self, *args: Any, **kwargs: Any) -> None:
        return None


class NullTracer:
    @contextmanager
    def attempt(self, priority_id: str, **_: Any) -> Iterator[NullAttemptTrace]:
        yield NullAttemptTrace()

    def shutdown(self) -> None:
        return None
