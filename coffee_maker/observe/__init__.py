"""Observability: structlog setup, Langfuse tracing, the telemetry store and stats.

Public names are re-exported lazily, so ``import coffee_maker.observe.logging`` (every
command) does not pay for importing langfuse and OpenTelemetry.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Tracer": "tracing", "AttemptTrace": "tracing", "SpanHandle": "tracing", "TracingSettings": "tracing",
    "TelemetryStore": "telemetry",
    "compute_stats": "stats", "parse_since": "stats",
    "render_prometheus": "prometheus", "MetricsServer": "prometheus",
    "configure_logging": "logging",
    "attempt_context": "context", "set_phase": "context", "set_session": "context",
    "current_context": "context", "bind_context": "context",
}
_RENAMED = {"compute_stats": "compute", "render_prometheus": "render"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'coffee_maker.observe' has no attribute {name!r}")
    module = import_module(f"coffee_maker.observe.{_EXPORTS[name]}")
    return getattr(module, _RENAMED.get(name, name))
