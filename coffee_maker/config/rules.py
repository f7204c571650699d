"""[rules] — how the MessageHandler answers permission requests and questions."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RulesSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default_question: str = Field("ask", description="What to do with an unmatched question: ask | answer text.")
