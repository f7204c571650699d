"""Langfuse tracing behind a small facade: one trace per priority attempt.

Nothing else in the package imports langfuse. The daemon calls ``Tracer.attempt``
and, inside it, ``span`` / ``generation`` / ``decision`` on the returned
``AttemptTrace``. Observations get their parent passed explicitly (never through
OpenTelemetry's current-span context), so the decision worker threads can add
children to the attempt that is running.

Why the setup looks the way it does:
- The tracer provider is ours, not OpenTelemetry's global one, so nothing else in
  the process is affected and ``shutdown`` really stops the export thread.
- Spans are queued in memory and exported by the SDK's batch thread; ``flush`` runs
  in a background thread and ``shutdown`` waits a bounded time, so an unreachable
  Langfuse never slows the loop (each export request times out after a few seconds).
- Without keys (or with ``[observe] langfuse = false``) the tracer is a no-op after
  one info line, and the daemon runs normally.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from coffee_maker.observe import context as log_context
from coffee_maker.types import Decision, DecisionKind

if TYPE_CHECKING:
    from coffee_maker.config import LoadedConfig
    from coffee_maker.observe._langfuse import LangfuseBackend, Observation

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class TracingSettings:
    """Where and how to send traces; read from LANGFUSE_* and ``[observe]``."""

    public_key: str
    secret_key: str
    base_url: str = "https://cloud.langfuse.com"
    export_timeout_s: int = 2
    flush_interval_s: float = 5.0
    shutdown_wait_s: float = 3.0
    environment: str | None = None


class SpanHandle:
    """One open observation; ``end(output=…)`` closes it (again is harmless)."""

    def __init__(self, observation: Observation | None) -> None:
        self._observation = observation
        self._lock = threading.Lock()

    def end(self, *, output: Any = None, level: str | None = None, status_message: str | None = None,
            end: float | None = None) -> None:
        with self._lock:
            observation, self._observation = self._observation, None
        if observation is not None:
            observation.finish(output=output, level=level, status_message=status_message, end=end)

    @property
    def open(self) -> bool:
        return self._observation is not None


class AttemptTrace:
    """The observations of one attempt, parented on its root span; safe to use from any thread."""

    def __init__(self, root: Observation | None, *, priority: str, attempt: int, branch: str | None) -> None:
        self._root = root
        self._lock = threading.Lock()
        self.priority, self.attempt, self.branch = priority, attempt, branch
        self.session_id: str | None = None

    @property
    def recording(self) -> bool:
        return self._root is not None

    def _trace_attributes(self) -> dict[str, Any]:
        with self._lock:
            return {"session_id": self.session_id}

    def set_session(self, session_id: str | None) -> None:
        """The agent's session id (known only after the session starts or ends); later observations carry it."""
        if not session_id:
            return
        with self._lock:
            self.session_id = session_id
        log_context.set_session(session_id)
        if self._root is not None:
            self._root.set_trace(session_id=session_id, metadata={"agent_session_id": session_id})

    @contextmanager
    def span(self, name: str, *, input: Any = None, metadata: Mapping[str, Any] | None = None,
             as_type: str = "span") -> Iterator[SpanHandle]:
        """A child observation around a step (safety gate, commit, push, PR); an exception marks it ERROR."""
        handle = SpanHandle(self._child(name, as_type=as_type, input=input, metadata=metadata))
        try:
            with log_context.phase(name):
                yield handle
        except BaseException as exc:
            handle.end(level="ERROR", status_message=f"{type(exc).__name__}: {exc}"[:500])
            raise
        finally:
            handle.end()

    def generation(self, name: str, *, model: str | None, usage: Mapping[str, Any] | None, cost_usd: float | None,
                   input: Any = None, output: Any = None, start: float | None = None, end: float | None = None,
                   metadata: Mapping[str, Any] | None = None) -> None:
        """The agent session as a generation: model, token usage (input/output/cache) and cost as reported."""
        if self._root is None:
            return
        observation = self._root.child(
            name, as_type="generation", input=input, metadata=metadata, start=start,
            model=model, usage_details=usage_details(usage or {}),
            cost_details={"total": float(cost_usd)} if cost_usd is not None else None,
            **self._trace_attributes())
        observation.finish(output=output, end=end)

    def decision(self, request_summary: str, decision: Decision, channels: Sequence[str], timeout_s: float) -> None:
        """A permission decision or answered question, placed back in time by its latency."""
        if self._root is None:
            return
        is_answer = decision.kind is DecisionKind.ANSWER
        now = time.time()
        observation = self._root.child(
            "question" if is_answer else "permission", as_type="span", start=now - decision.latency_s,
            input={"request": request_summary, "channels": list(channels), "timeout_s": timeout_s},
            metadata={"method": decision.source.label(), "escalated": bool(channels)}, **self._trace_attributes())
        observation.finish(
            output={"response": decision.answer if is_answer else decision.kind.value, "method": decision.source.label(),
                    "latency_s": round(decision.latency_s, 4), "timed_out": decision.timed_out,
                    "message": decision.message},
            level="WARNING" if decision.timed_out else None, end=now)

    def _child(self, name: str, *, as_type: str, input: Any, metadata: Mapping[str, Any] | None) -> Observation | None:
        if self._root is None:
            return None
        return self._root.child(name, as_type=as_type, input=input, metadata=metadata, **self._trace_attributes())


def usage_details(usage: Mapping[str, Any]) -> dict[str, int]:
    """Claude Code's ``usage`` (input/output/cache tokens) → Langfuse usage details, integers only."""
    names = {"input_tokens": "input", "output_tokens": "output",
             "cache_read_input_tokens": "cache_read_input_tokens",
             "cache_creation_input_tokens": "cache_creation_input_tokens"}
    details = {names.get(key, key): int(value) for key, value in usage.items()
               if isinstance(value, (int, float)) and not isinstance(value, bool)}
    if "input" in details or "output" in details:
        details["total"] = sum(v for k, v in details.items() if k != "total")
    return details


class Tracer:
    """The daemon's only door to Langfuse; a no-op when tracing is off."""

    def __init__(self, settings: TracingSettings | None) -> None:
        self.settings = settings
        self._backend: LangfuseBackend | None = None
        if settings is not None:
            # langfuse and OpenTelemetry are imported only when tracing is on
            from coffee_maker.observe._langfuse import LangfuseBackend

            self._backend = LangfuseBackend(settings.public_key, settings.secret_key, settings.base_url,
                                            export_timeout_s=settings.export_timeout_s,
                                            flush_interval_s=settings.flush_interval_s,
                                            environment=settings.environment)
        self._lock = threading.Lock()
        self._current: AttemptTrace | None = None
        self._flusher: threading.Thread | None = None

    @classmethod
    def from_config(cls, loaded: LoadedConfig | None = None, *, env: Mapping[str, str] | None = None) -> Tracer:
        """Langfuse when enabled and both keys are set; otherwise one info line and a no-op tracer."""
        env = os.environ if env is None else env
        observe = loaded.config.observe if loaded is not None else None
        if observe is not None and not observe.langfuse:
            log.info("Langfuse tracing is off ([observe] langfuse = false)")
            return cls(None)
        if env.get("LANGFUSE_TRACING_ENABLED", "true").lower() == "false":
            log.info("Langfuse tracing is off (LANGFUSE_TRACING_ENABLED=false)")
            return cls(None)
        public, secret = env.get("LANGFUSE_PUBLIC_KEY"), env.get("LANGFUSE_SECRET_KEY")
        if not public or not secret:
            log.info("Langfuse tracing is off: set LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY to send traces")
            return cls(None)
        base_url = env.get("LANGFUSE_BASE_URL") or env.get("LANGFUSE_HOST") or "https://cloud.langfuse.com"
        settings = TracingSettings(
            public_key=public, secret_key=secret, base_url=base_url.rstrip("/"),
            export_timeout_s=observe.langfuse_export_timeout_s if observe else 2,
            flush_interval_s=observe.langfuse_flush_interval_s if observe else 5.0,
            shutdown_wait_s=observe.langfuse_shutdown_wait_s if observe else 3.0,
            environment=env.get("LANGFUSE_TRACING_ENVIRONMENT") or None)
        log.info("Langfuse tracing on", base_url=settings.base_url)
        return cls(settings)

    @property
    def enabled(self) -> bool:
        return self._backend is not None

    @contextmanager
    def attempt(self, priority_id: str, *, attempt: int, branch: str | None = None) -> Iterator[AttemptTrace]:
        """One trace for one attempt at a priority; log lines inside carry priority and attempt."""
        root = None
        if self._backend is not None:
            root = self._backend.root(
                "attempt", input={"priority": priority_id, "attempt": attempt, "branch": branch},
                trace_name=priority_id, tags=["coffee-maker"],
                metadata={"priority": priority_id, "attempt": attempt, "branch": branch})
        trace = AttemptTrace(root, priority=priority_id, attempt=attempt, branch=branch)
        with self._lock:
            self._current = trace
        try:
            with log_context.attempt_context(priority_id, attempt):
                yield trace
        except BaseException as exc:
            if root is not None:
                root.finish(level="ERROR", status_message=f"{type(exc).__name__}: {exc}"[:500])
            raise
        else:
            if root is not None:
                root.finish(output={"session_id": trace.session_id})
        finally:
            with self._lock:
                if self._current is trace:
                    self._current = None
            self.flush()

    def decision(self, request_summary: str, decision: Decision, channels: Sequence[str], timeout_s: float) -> None:
        """For the MessageHandler: record the decision on the attempt running now (any thread)."""
        with self._lock:
            trace = self._current
        if trace is not None:
            trace.decision(request_summary, decision, channels, timeout_s)

    def flush(self) -> threading.Thread | None:
        """Send what is queued, in a background thread; returns that thread (None when nothing to do)."""
        backend = self._backend
        if backend is None:
            return None
        with self._lock:
            if self._flusher is not None and self._flusher.is_alive():
                return self._flusher
            self._flusher = threading.Thread(target=backend.flush, name="langfuse-flush", daemon=True)
            self._flusher.start()
            return self._flusher

    def shutdown(self, wait_s: float | None = None) -> bool:
        """Flush and stop, waiting at most ``wait_s``; True when everything was sent in time."""
        backend, self._backend = self._backend, None
        if backend is None or self.settings is None:
            return True
        wait = self.settings.shutdown_wait_s if wait_s is None else wait_s
        stopper = threading.Thread(target=backend.shutdown, name="langfuse-shutdown", daemon=True)
        stopper.start()
        stopper.join(wait)
        if stopper.is_alive():
            log.warning("Langfuse did not take the last traces in time; they are dropped", waited_s=wait)
            return False
        return True

    close = shutdown
