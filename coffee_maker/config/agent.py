"""[agent] — which coding agent runs a priority, and its limits."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AgentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: str = Field("claude", description="claude | codex | gemini | aider | scripted | a [agent.cli.<name>] entry.")
    model: str | None = Field(None, description="Model name passed to the agent CLI (its default when unset).")
    idle_timeout_s: float = Field(600.0, description="Stop a session that prints nothing for this long.")
    total_timeout_s: float = Field(3600.0, description="Stop a session that runs longer than this.")
    max_turns: int = Field(200, description="Stop a session after this many model turns.")
    max_cost_usd: float = Field(10.0, description="Stop a session whose reported cost exceeds this.")
    decision_timeout_s: float = Field(900.0, description="Deny a permission request nobody decided within this time.")
