"""Roadmap parser: text in, priorities out. Pure and single-pass.

A priority is a level 2–4 heading whose text, once emoji, bold and other
decoration are stripped from its start, begins with `PRIORITY <n>:` or `US-<n>:`.
Its section runs to the next heading of the same or a higher level, or to the
next priority heading. Nothing inside a fenced code block is structure.

Speed matters (the daemon re-reads the roadmap on every save): one pass over the
lines, cheap first-character checks before any regular expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from coffee_maker.roadmap.dependencies import dependency_warnings
from coffee_maker.roadmap.model import Roadmap
from coffee_maker.roadmap.status import read_status
from coffee_maker.types import Deliverable, Priority, RoadmapWarning, Status

_PRIORITY_HEAD = re.compile(r"(PRIORITY\s+(\d+(?:\.\d+)*)|US-(\d+))\s*(?:\*\*|__)?\s*:", re.IGNORECASE)
_LEAD_DECORATION = re.compile(r"^[^A-Za-z0-9]+")
_CHECKBOX = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\[([ xX])\]\s?(.*)$")
_DEP_ID = re.compile(r"PRIORITY[\s-]*(\d+(?:\.\d+)*)|US-(\d+)", re.IGNORECASE)
_STATUS_LINE = re.compile(r"\*\*Status\*\*\s*:|\*\*Status:\*\*")
_DEPS_LINE = re.compile(r"\*\*Dependenc(?:y|ies)\*\*\s*:|\*\*Dependenc(?:y|ies):\*\*")
_TITLE_END = re.compile(r"\s*(?:📝|✅|🔄|🚧|⏸️?|\(\s*$)")
_GUIDELINE_TITLE = re.compile(
    r"technolog|tech stack|stack|convention|guideline|standard|principle|git\b|coding|style|architecture",
    re.IGNORECASE,
)


@dataclass
class _Open:
    """A priority whose section is still being read."""

    id: str
    title: str
    line: int
    level: int
    heading_text: str
    status_text: str | None = None
    status_line: int | None = None
    deliverables: list[Deliverable] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    deps_open: bool = False  # a `**Dependencies**:` line with its ids on the following bullets


def _heading(line: str) -> tuple[int, str] | None:
    """(level, text) for an ATX heading line, else None."""
    level = len(line) - len(line.lstrip("#"))
    if level == 0 or level > 6 or (len(line) > level and line[level] not in " \t"):
        return None
    text = line[level:].strip()
    if text.endswith("#"):  # a closing `##` run counts only after a space: `## C#` keeps its `#`
        bare = text.rstrip("#")
        if not bare or bare[-1] in " \t":
            text = bare.strip()
    return level, text


def _fence(stripped: str) -> str | None:
    """The opening fence run (``` or ~~~, any length ≥ 3), or None.

    As in CommonMark, a backtick fence's info string cannot hold a backtick, so a
    one-line ```inline``` span does not open a block and swallow the rest of the file.
    """
    if stripped.startswith("```") or stripped.startswith("~~~"):
        char = stripped[0]
        run = stripped[: len(stripped) - len(stripped.lstrip(char))]
        if char == "`" and "`" in stripped[len(run):]:
            return None
        return run
    return None


def priority_heading(text: str) -> tuple[str, str] | None:
    """(id, title) when heading text starts — after decoration — with a priority id and ':'."""
    cleaned = _LEAD_DECORATION.sub("", text)
    match = _PRIORITY_HEAD.match(cleaned)
    if match is None:
        return None
    pid = f"PRIORITY {match.group(2)}" if match.group(2) else f"US-{match.group(3)}"
    rest = cleaned[match.end():].strip()
    if rest.startswith("**"):
        rest = rest[2:].strip()
    if "**" in rest:  # `**PRIORITY 1: Title** ⚡ NEW` — the title is what the bold holds
        rest = rest[: rest.index("**")]
    cut = _TITLE_END.search(rest)
    title = (rest[: cut.start()] if cut else rest).strip(" -—:*_")
    return pid, title or rest.strip()


def parse_roadmap(text: str) -> Roadmap:
    """Parse roadmap text (any line endings) into priorities and warnings."""
    # Line numbers only depend on "\n"; dropping the "\r" of CRLF once, in C, spares a check per line.
    lines = (text.replace("\r\n", "\n") if "\r" in text else text).split("\n")
    if lines[0].startswith("\ufeff"):  # a byte-order mark must not hide a first-line heading
        lines[0] = lines[0][1:]
    priorities: list[Priority] = []
    warnings: list[RoadmapWarning] = []
    guidelines: list[tuple[str, str]] = []
    guideline: tuple[str, int, int] | None = None  # (title, level, first body line index)
    current: _Open | None = None
    fence: str | None = None
    fence_line = 0

    def close(open_: _Open, end_index: int) -> None:
        status_source = open_.status_text if open_.status_text is not None else open_.heading_text
        status = read_status(status_source)
        if open_.status_text is not None:
            heading_status = read_status(open_.heading_text)
            if heading_status is not Status.UNKNOWN and heading_status is not status:
                warnings.append(RoadmapWarning(open_.line, "status_mismatch",
                                               f"{open_.id}: heading says {heading_status.value}, "
                                               f"status line {open_.status_line} says {status.value}"))
        if status is Status.UNKNOWN:  # the planner never picks it: say why
            message = (f"{open_.id}: cannot read a status from {status_source.strip()!r}"
                       if open_.status_text is not None else
                       f"{open_.id}: no `**Status**:` line and no status in the heading")
            warnings.append(RoadmapWarning(open_.status_line or open_.line, "unknown_status", message))
        end_line = max(open_.line, end_index)
        section = "\n".join(lines[open_.line - 1: end_line])
        priorities.append(Priority(
            id=open_.id, title=open_.title, line=open_.line, end_line=end_line, level=open_.level,
            status=status, status_text=status_source.strip(), status_line=open_.status_line,
            deliverables=tuple(open_.deliverables), dependencies=tuple(dict.fromkeys(open_.dependencies)),
            text=section,
        ))

    def close_guideline(end_index: int) -> None:
        if guideline is not None:
            title, _, start = guideline
            body = "\n".join(lines[start:end_index]).strip()
            if body:
                guidelines.append((title, body))

    for index, line in enumerate(lines):
        first = line[:1]
        if fence is not None:
            if fence[0] not in line:
                continue
            stripped = line.lstrip()
            if stripped.startswith(fence) and not stripped.lstrip(fence[0]).strip():
                fence = None
            continue
        if first == "#":
            heading = _heading(line)
            if heading is not None:
                level, heading_text = heading
                found = priority_heading(heading_text) if 2 <= level <= 4 else None
                if current is not None and (found is not None or level <= current.level):
                    close(current, index)
                    current = None
                if guideline is not None and level <= guideline[1]:
                    close_guideline(index)
                    guideline = None
                if found is not None:
                    current = _Open(found[0], found[1], index + 1, level, heading_text)
                elif level == 2 and _GUIDELINE_TITLE.search(heading_text):
                    guideline = (_LEAD_DECORATION.sub("", heading_text).strip(), level, index + 1)
                continue
        stripped = line.lstrip()
        if stripped and stripped[0] in "`~":
            opened = _fence(stripped)
            if opened is not None and len(opened) >= 3:
                fence, fence_line = opened, index + 1
                continue
        if current is None:
            continue
        if "**" in line:
            if current.status_text is None and "Status" in line and _STATUS_LINE.search(line):
                match = _STATUS_LINE.search(line)
                assert match is not None
                current.status_text = line[match.end():]
                current.status_line = index + 1
                continue
            if "Dependenc" in line and _DEPS_LINE.search(line):
                match = _DEPS_LINE.search(line)
                assert match is not None
                ids = _dependency_ids(line[match.end():])
                current.dependencies.extend(ids)
                current.deps_open = not line[match.end():].strip()
                continue
        if "[" in line:
            box = _CHECKBOX.match(line)
            if box is not None:
                current.deliverables.append(Deliverable(box.group(2).strip(), box.group(1) != " ", index + 1))
                continue
        if current.deps_open:
            if stripped[:1] in "-*+" and stripped[1:2] == " ":
                current.dependencies.extend(_dependency_ids(stripped))
            elif stripped:
                current.deps_open = False

    end = len(lines) - (1 if lines and lines[-1] == "" else 0)
    if current is not None:
        close(current, end)
    close_guideline(end)
    if fence is not None:
        warnings.append(RoadmapWarning(fence_line, "unclosed_fence",
                                       f"code fence opened at line {fence_line} is never closed"))
    seen: dict[str, int] = {}
    for p in priorities:
        if p.id in seen:
            warnings.append(RoadmapWarning(p.line, "duplicate_id",
                                           f"{p.id} at line {p.line} repeats the one at line {seen[p.id]}"))
        else:
            seen[p.id] = p.line
    warnings.extend(dependency_warnings(priorities))
    warnings.sort(key=lambda w: w.line)
    return Roadmap(tuple(priorities), tuple(warnings), tuple(guidelines), end)


def _dependency_ids(text: str) -> list[str]:
    ids = []
    for match in _DEP_ID.finditer(text):
        ids.append(f"PRIORITY {match.group(1)}" if match.group(1) else f"US-{match.group(2)}")
    return ids


def guideline_sections(text: str) -> list[tuple[str, str]]:
    """The roadmap's level-2 guideline sections (technology, conventions…) as (title, body)."""
    return list(parse_roadmap(text).guidelines)
