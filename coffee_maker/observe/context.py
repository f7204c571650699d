"""Log context for one attempt: priority, attempt, phase and agent session id on every line.

structlog's contextvars are per thread (and per asyncio task), so the daemon binds
them in the thread that runs the attempt; ``attempt_context`` restores what was
bound before, so a crash in the middle never leaks one attempt's fields into the next.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import structlog

CONTEXT_KEYS = ("priority", "attempt", "phase", "session_id")


@contextmanager
def attempt_context(priority: str, attempt: int, *, phase: str = "starting") -> Iterator[None]:
    """Bind priority, attempt and phase (session id once known) for the ``with`` block."""
    tokens = structlog.contextvars.bind_contextvars(
        priority=priority, attempt=attempt, phase=phase, session_id=None)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


def set_phase(phase: str) -> None:
    """The attempt moved on (agent_running, validating, committing …); later lines say so."""
    structlog.contextvars.bind_contextvars(phase=phase)


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Lines inside the block say ``phase=name``; the previous phase comes back afterwards."""
    tokens = structlog.contextvars.bind_contextvars(phase=name)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


def set_session(session_id: str | None) -> None:
    """The agent reported its session id (it arrives mid-attempt)."""
    if session_id:
        structlog.contextvars.bind_contextvars(session_id=session_id)


def current_context() -> dict[str, object]:
    """The attempt fields bound now, for handing to another thread (``bind_context``)."""
    bound = structlog.contextvars.get_contextvars()
    return {key: bound[key] for key in CONTEXT_KEYS if key in bound}


@contextmanager
def bind_context(fields: dict[str, object]) -> Iterator[None]:
    """Re-bind fields captured with ``current_context`` in a worker thread."""
    tokens = structlog.contextvars.bind_contextvars(**fields)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
