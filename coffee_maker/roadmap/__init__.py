"""The roadmap engine: parser (pure), editor (surgical, atomic), planner (pure)."""

from coffee_maker.roadmap.checks import errors
from coffee_maker.roadmap.editor import (
    RoadmapEditor,
    SetNote,
    SetStatus,
    Tick,
    atomic_write,
    edit_text,
)
from coffee_maker.roadmap.loader import read_roadmap, read_text
from coffee_maker.roadmap.model import Roadmap, normalise_id
from coffee_maker.roadmap.parser import guideline_sections, parse_roadmap
from coffee_maker.roadmap.planner import Held, Skip, explain, next_priority

__all__ = [
    "Held", "Roadmap", "RoadmapEditor", "SetNote", "SetStatus", "Tick", "atomic_write", "edit_text", "errors", "explain",
    "guideline_sections", "next_priority", "normalise_id", "parse_roadmap", "read_roadmap", "read_text", "Skip",
]
