"""[roadmap] — where the roadmap lives."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RoadmapSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field("docs/ROADMAP.md", description="The roadmap file, relative to the repository.")
