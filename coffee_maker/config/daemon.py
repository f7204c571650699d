"""[daemon] — the loop's budgets, retries and pacing."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DaemonSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(3, description="Failed attempts before a priority is marked blocked.")
    poll_interval_s: float = Field(60.0, description="How often an idle daemon fetches the remote.")
