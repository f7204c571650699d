"""[observe] — logging, state directory, Langfuse tracing, telemetry and the metrics endpoint."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from coffee_maker.config.layout import TELEMETRY_DB


class ObserveSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="debug | info | warning | error")
    state_dir: str = Field(".coffee_maker", description="State, telemetry and log files (relative to the repository).")
    interaction_log_dir: str = Field("interaction_logs", description="Where interaction logs go (relative to the repository).")
    langfuse: bool = Field(True, description="Send traces to Langfuse when LANGFUSE_* keys are set.")
    langfuse_export_timeout_s: int = Field(
        2, ge=1, le=30, description="Per-request timeout for sending spans; an unreachable Langfuse costs at most this.")
    langfuse_flush_interval_s: float = Field(
        5.0, gt=0, description="How often buffered spans are sent in the background.")
    langfuse_shutdown_wait_s: float = Field(
        3.0, ge=0, description="At shutdown, wait at most this long for the last spans to be sent.")
    telemetry_db: str = Field(TELEMETRY_DB, description="Telemetry database file name inside state_dir.")
    metrics_port: int = Field(9464, ge=0, le=65535, description="`coffee-maker stats serve` port (127.0.0.1 only).")
    log_max_bytes: int = Field(5_000_000, ge=10_000, description="Rotate the JSON log file at this size.")
    log_backups: int = Field(5, ge=1, description="Rotated JSON log files to keep.")
