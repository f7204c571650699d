"""Run the decision callback off the event loop, with a deadline.

Why a worker thread: the callback may wait minutes for a person. The session loop
must keep reading the agent's output and checking its time limits meanwhile, and a
request nobody decides in time must be answered anyway (deny), never left hanging.
Decisions run one at a time, in arrival order, on one worker; when a request times out
the session abandons that worker (its callback may never return) and hands the
requests still waiting to a fresh one, so one unanswered request starves no other.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from queue import Empty, SimpleQueue
from typing import Any

import structlog

from coffee_maker.agent.base import StopFlag
from coffee_maker.types import (
    Decision,
    DecisionCallback,
    DecisionKind,
    DecisionSource,
    PermissionRequest,
    Question,
    SourceKind,
)

log = structlog.get_logger(__name__)

Request = PermissionRequest | Question


def timeout_decision(request: Request, timeout_s: float) -> Decision:
    """What a request gets when nobody decided in time: a denial the model can read."""
    if isinstance(request, Question):
        message = (f"No answer arrived within {timeout_s:g}s. Continue with your best judgement, "
                   "and state the assumption you made.")
    else:
        message = f"No decision arrived within {timeout_s:g}s, so this {request.tool} call is denied."
    return Decision(kind=DecisionKind.DENY, message=message, source=DecisionSource(SourceKind.CALLBACK_TIMEOUT),
                    latency_s=timeout_s, timed_out=True)


def safe_decide(decide: DecisionCallback, request: Request) -> Decision:
    """Call ``decide``; a callback that raises becomes a denial (the session goes on)."""
    start = time.monotonic()
    try:
        decision = decide(request)
    except Exception as exc:  # noqa: BLE001 — a broken callback must not kill the session
        log.exception("decision callback failed", request=type(request).__name__)
        return Decision(kind=DecisionKind.DENY, message=f"The decision callback failed: {exc}",
                        source=DecisionSource(SourceKind.CALLBACK_ERROR), latency_s=time.monotonic() - start)
    if not decision.latency_s:
        from dataclasses import replace

        decision = replace(decision, latency_s=time.monotonic() - start)
    return decision


class DecisionWorker:
    """One daemon thread that calls ``decide`` for each submitted request, in order.

    Each result is handed to ``post(key, request, decision)`` (typically a queue put that
    wakes the session loop).
    """

    def __init__(self, decide: DecisionCallback, post: Callable[[Any, Request, Decision], None]) -> None:
        self._decide = decide
        self._post = post
        self._inbox: SimpleQueue[tuple[Any, Request, contextvars.Context] | None] = SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="agent-decisions", daemon=True)
        self._thread.start()

    def submit(self, key: Any, request: Request) -> None:
        # The caller's context (priority, attempt, phase, session) goes with the request, so log
        # lines written while deciding carry it.
        self._inbox.put((key, request, contextvars.copy_context()))

    def close(self) -> None:
        """Stop after the current callback returns; requests still queued are dropped."""
        self._closed = True
        self._inbox.put(None)

    def _loop(self) -> None:
        while True:
            item = self._inbox.get()
            if item is None or self._closed:
                return
            key, request, context = item
            self._post(key, request, context.run(safe_decide, self._decide, request))


def decide_within(decide: DecisionCallback, request: Request, timeout_s: float,
                  stop: StopFlag | None = None) -> Decision:
    """Call ``decide`` with a deadline (for backends without their own loop, e.g. scripted).

    Returns :func:`timeout_decision` when the deadline passes or ``stop`` is set first.
    """
    box: SimpleQueue[Decision] = SimpleQueue()
    context = contextvars.copy_context()  # log lines written while deciding keep the attempt's fields
    worker = threading.Thread(target=lambda: box.put(context.run(safe_decide, decide, request)),
                              name="agent-decision", daemon=True)
    worker.start()
    deadline = time.monotonic() + timeout_s if timeout_s > 0 else float("inf")
    while True:
        try:
            return box.get(timeout=min(0.05, max(0.0, deadline - time.monotonic())) or 0.001)
        except Empty:
            if (stop is not None and stop.is_set()) or time.monotonic() >= deadline:
                return timeout_decision(request, timeout_s)
