"""[observe] — logging, state directory, Langfuse."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ObserveSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    log_level: str = Field("info", description="debug | info | warning | error")
    state_dir: str = Field(".coffee_maker", description="State, telemetry and log files (relative to the repository).")
    interaction_log_dir: str = Field("interaction_logs", description="Where interaction logs go (relative to the repository).")
    langfuse: bool = Field(True, description="Send traces to Langfuse when LANGFUSE_* keys are set.")
