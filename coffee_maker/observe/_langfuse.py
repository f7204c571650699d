"""The only module that imports langfuse and OpenTelemetry: spans with explicit parents and times.

We create the OpenTelemetry spans ourselves (explicit parent context and start
time, so a generation can start when the agent session started and a decision
can be placed at the moment it was asked) and wrap them in the SDK's observation
classes, which write Langfuse's attributes. Trace-level attributes (name, session
id, metadata, tags) go on every span we create, so they are known to the trace
even when the session id arrives in the middle of the attempt.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from langfuse import Langfuse, LangfuseGeneration, LangfuseOtelSpanAttributes, LangfuseSpan
from langfuse import __version__ as langfuse_version
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

#: The instrumentation scope the SDK's own spans use; its processor exports spans of
#: this scope that carry our public key.
LANGFUSE_SCOPE = "langfuse-sdk"
_ATTR = LangfuseOtelSpanAttributes


def _ns(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * 1_000_000_000)


def _meta(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


class Observation:
    """An open Langfuse observation and the trace attributes its children inherit."""

    def __init__(self, backend: LangfuseBackend, span: otel_trace.Span, wrapper: LangfuseSpan | LangfuseGeneration,
                 trace_attributes: dict[str, Any]) -> None:
        self._backend = backend
        self._span = span
        self._wrapper = wrapper
        self._trace_attributes = trace_attributes
        self._lock = threading.Lock()

    def child(self, name: str, *, as_type: str = "span", input: Any = None, metadata: Mapping[str, Any] | None = None,
              start: float | None = None, session_id: str | None = None, model: str | None = None,
              usage_details: dict[str, int] | None = None, cost_details: dict[str, float] | None = None) -> Observation:
        with self._lock:
            inherited = dict(self._trace_attributes)
        if session_id:
            inherited[_ATTR.TRACE_SESSION_ID] = session_id
        return self._backend.start(name, parent=self._span, as_type=as_type, input=input, metadata=metadata,
                                   start=start, trace_attributes=inherited, model=model,
                                   usage_details=usage_details, cost_details=cost_details)

    def set_trace(self, *, session_id: str | None = None, metadata: Mapping[str, Any] | None = None) -> None:
        """Trace attributes learnt late: on this (still open) span and every child created from now on."""
        extra: dict[str, Any] = {}
        if session_id:
            extra[_ATTR.TRACE_SESSION_ID] = session_id
        for key, value in (metadata or {}).items():
            if value is not None:
                extra[f"{_ATTR.TRACE_METADATA}.{key}"] = _meta(value)
        with self._lock:
            self._trace_attributes.update(extra)
        if self._span.is_recording():
            self._span.set_attributes(extra)

    def finish(self, *, output: Any = None, level: str | None = None, status_message: str | None = None,
               end: float | None = None) -> None:
        if output is not None or level is not None or status_message is not None:
            self._wrapper.update(output=output, level=level, status_message=status_message)  # type: ignore[arg-type]
        self._wrapper.end(end_time=_ns(end))


class LangfuseBackend:
    """A Langfuse client on a tracer provider of our own (no global OpenTelemetry state)."""

    def __init__(self, public_key: str, secret_key: str, base_url: str, *, export_timeout_s: int,
                 flush_interval_s: float, environment: str | None = None) -> None:
        self.public_key = public_key
        self.provider = TracerProvider(resource=Resource.create({"service.name": "coffee-maker"}),
                                       shutdown_on_exit=False)
        self.client = Langfuse(public_key=public_key, secret_key=secret_key, base_url=base_url,
                               timeout=export_timeout_s, flush_interval=flush_interval_s,
                               environment=environment, tracer_provider=self.provider)
        self._tracer = self.provider.get_tracer(LANGFUSE_SCOPE, langfuse_version,
                                                attributes={"public_key": public_key})

    def root(self, name: str, *, input: Any, trace_name: str, tags: list[str],
             metadata: Mapping[str, Any]) -> Observation:
        trace_attributes: dict[str, Any] = {_ATTR.TRACE_NAME: trace_name, _ATTR.TRACE_TAGS: tags}
        for key, value in metadata.items():
            if value is not None:
                trace_attributes[f"{_ATTR.TRACE_METADATA}.{key}"] = _meta(value)
        return self.start(name, parent=None, as_type="span", input=input, metadata=None, start=None,
                          trace_attributes=trace_attributes)

    def start(self, name: str, *, parent: otel_trace.Span | None, as_type: str, input: Any,
              metadata: Mapping[str, Any] | None, start: float | None, trace_attributes: dict[str, Any],
              model: str | None = None, usage_details: dict[str, int] | None = None,
              cost_details: dict[str, float] | None = None) -> Observation:
        context = otel_trace.set_span_in_context(parent) if parent is not None else None
        span = self._tracer.start_span(name, context=context, start_time=_ns(start), attributes=trace_attributes)
        wrapper: LangfuseSpan | LangfuseGeneration
        meta = dict(metadata) if metadata else None
        if as_type == "generation":
            wrapper = LangfuseGeneration(otel_span=span, langfuse_client=self.client, input=input, metadata=meta,
                                         model=model, usage_details=usage_details, cost_details=cost_details)
        else:
            wrapper = LangfuseSpan(otel_span=span, langfuse_client=self.client, input=input, metadata=meta)
            if as_type != "span":
                span.set_attribute(_ATTR.OBSERVATION_TYPE, as_type)
        return Observation(self, span, wrapper, trace_attributes)

    def flush(self) -> None:
        self.provider.force_flush()

    def shutdown(self) -> None:
        """Flush, stop the SDK's threads and our export thread, and let a later client use this key afresh."""
        try:
            self.client.shutdown()
            self.provider.shutdown()
        finally:
            _forget_client(self.public_key)


def _forget_client(public_key: str) -> None:
    """The SDK keeps one resource manager per public key for the whole process.

    After our shutdown, a new Tracer with the same key (a configuration reload, the
    next test) must get a fresh one, not the stopped one.
    """
    try:
        from langfuse._client.resource_manager import LangfuseResourceManager
    except ImportError:  # pragma: no cover — a future SDK without the singleton
        return
    with LangfuseResourceManager._lock:
        LangfuseResourceManager._instances.pop(public_key, None)
