"""Observability: structlog setup, Langfuse tracing, the telemetry store and stats."""
