"""[git] and [forge] — branches, the safety gate, and where pull requests go."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class GitSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    remote: str = Field("origin", description="The remote to fetch from and push to.")
    branch_template: str = Field("coffee-maker/{slug}", description="Branch name per priority; {slug} is the priority's slug.")
    test_command: str | None = Field(None, description="The command that must pass before a commit (e.g. 'pytest -q').")
    protected_branches: list[str] = Field(default_factory=lambda: ["main", "master"])
    protected_paths: list[str] = Field(default_factory=list, description="Glob patterns the agent may not change.")


class ForgeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str = Field("auto", description="auto | github | gh | gitlab | local")
