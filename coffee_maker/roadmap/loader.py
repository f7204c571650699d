"""Read a roadmap file with one clear sentence for every kind of bad input."""

from __future__ import annotations

from pathlib import Path

from coffee_maker.errors import RoadmapError
from coffee_maker.roadmap.model import Roadmap
from coffee_maker.roadmap.parser import parse_roadmap


def read_text(path: Path) -> str:
    """The roadmap's text (a symlink is followed); RoadmapError for anything unreadable."""
    if path.is_symlink() and not path.exists():
        raise RoadmapError(f"The roadmap {path} is a symbolic link to {path.readlink()}, which does not exist.")
    if not path.exists():
        raise RoadmapError(f"The roadmap {path} does not exist. Create it, or run `coffee-maker init`.")
    if path.is_dir():
        raise RoadmapError(f"The roadmap path {path} is a directory, not a file; point --roadmap at the .md file.")
    try:
        data = path.read_bytes()
    except PermissionError:
        raise RoadmapError(f"The roadmap {path} cannot be read: permission denied.") from None
    except OSError as exc:
        raise RoadmapError(f"The roadmap {path} cannot be read: {exc.strerror}.") from None
    if b"\x00" in data:
        raise RoadmapError(f"The roadmap {path} is a binary file, not Markdown text.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RoadmapError(f"The roadmap {path} is not valid UTF-8 (first bad byte on line {line}); "
                           "save it as UTF-8.") from None
    if not text.strip():
        raise RoadmapError(f"The roadmap {path} is empty; add a `## PRIORITY 1: …` section.")
    return text


def read_roadmap(path: Path) -> tuple[str, Roadmap]:
    """Text and parsed roadmap; RoadmapError when it is unreadable or holds no priority."""
    text = read_text(path)
    roadmap = parse_roadmap(text)
    if not roadmap.priorities:
        raise RoadmapError(f"The roadmap {path} has no priorities: headings like `## PRIORITY 1: Title` "
                           "or `### US-001: Title` are what coffee-maker reads.")
    return text, roadmap
