"""[notify] — the channels that reach a person, in escalation order."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class NotifySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: list[str] = Field(
        default_factory=lambda: ["terminal", "cli", "desktop"],
        description="Escalation channels in order: terminal, cli, desktop, slack, apprise.",
    )
    timeout_s: float = Field(1800.0, description="How long to wait for a person before the safe default.")
