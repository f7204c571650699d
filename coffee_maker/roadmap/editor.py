"""Surgical, atomic roadmap edits.

Only the lines an edit is about change — a status line, a checkbox, a note line;
every other byte stays as it was (CRLF endings, trailing spaces, emoji, a missing
final newline). Writes go through a temp file in the target's directory, fsync and
``os.replace``; a symlinked roadmap keeps its link and its target is replaced.
If the file changed on disk since it was read, the edit is re-applied only when
the lines it touches are unchanged; otherwise it is refused — a person's
concurrent edit is never overwritten.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from coffee_maker.errors import RoadmapConflictError, RoadmapError
from coffee_maker.roadmap.loader import read_text
from coffee_maker.roadmap.model import Roadmap, normalise_id
from coffee_maker.roadmap.parser import parse_roadmap
from coffee_maker.roadmap.status import STATUS_TEXT
from coffee_maker.types import Priority, Status

Edit = Callable[[list[str], Priority], None]
_STATUS_VALUE = re.compile(r"(\*\*Status\*\*\s*:|\*\*Status:\*\*)(.*)$")
_HEADING_STATUS = re.compile(r"(📝|✅|🔄|🚧|⏸️?)\s*[A-Za-z][A-Za-z ]*$")
_BOX = re.compile(r"\[( )\]")


def _ending(line: str) -> str:
    return "\r" if line.endswith("\r") else ""


@dataclass(frozen=True)
class SetStatus:
    """Rewrite the value of the `**Status**:` line (`✅ Complete`, `⏸️ Blocked — reason`…).

    Without a status line, one is inserted under the heading. A heading that ends
    with a status (`… 📝 Planned`) gets the new marker too, so heading and status
    line never disagree because of the daemon.
    """

    status: Status
    reason: str = ""

    def __call__(self, lines: list[str], p: Priority) -> None:
        value = STATUS_TEXT[self.status] + (f" — {self.reason}" if self.reason else "")
        heading_index = p.line - 1
        if p.status_line is not None:
            i = p.status_line - 1
            body, end = lines[i].removesuffix("\r"), _ending(lines[i])
            match = _STATUS_VALUE.search(body)
            if match:
                lines[i] = body[: match.start(2)] + " " + value + end
        else:
            cr = _ending(lines[heading_index])
            lines[heading_index + 1: heading_index + 1] = [cr, f"**Status**: {value}{cr}"]
        heading, end = lines[heading_index].removesuffix("\r"), _ending(lines[heading_index])
        if _HEADING_STATUS.search(heading):  # keep a status-bearing heading consistent
            lines[heading_index] = _HEADING_STATUS.sub(STATUS_TEXT[self.status], heading) + end


@dataclass(frozen=True)
class Tick:
    """Tick deliverables: all of them, or those whose index or text is given."""

    which: Sequence[int | str] | None = None

    def __call__(self, lines: list[str], p: Priority) -> None:
        for index, d in enumerate(p.deliverables):
            if d.checked or (self.which is not None and index not in self.which and d.text not in self.which):
                continue
            i = d.line - 1
            lines[i] = _BOX.sub("[x]", lines[i], count=1)


@dataclass(frozen=True)
class SetNote:
    """A `**Label**: value` line under the status line (replaced if the label is already there)."""

    label: str
    value: str

    def __call__(self, lines: list[str], p: Priority) -> None:
        prefix = f"**{self.label}**:"
        for i in range(p.line, min(p.end_line, len(lines))):
            if lines[i].startswith(prefix):
                lines[i] = f"{prefix} {self.value}{_ending(lines[i])}"
                return
        anchor = (p.status_line or p.line) - 1
        cr = _ending(lines[anchor])
        if p.status_line is None:
            lines[anchor + 1: anchor + 1] = [cr, f"{prefix} {self.value}{cr}"]
        else:
            lines.insert(anchor + 1, f"{prefix} {self.value}{cr}")


def _locate(roadmap: Roadmap, pid: str, heading: str | None) -> Priority:
    found = roadmap.find(pid)
    if not found:
        raise RoadmapError(f"{normalise_id(pid)} is not a priority in the roadmap.")
    if heading is not None:
        for p in found:
            if p.text.split("\n", 1)[0] == heading:
                return p
    # With duplicated ids, edit the copy with a status line or deliverables (the real section).
    return next((p for p in found if p.status_line or p.deliverables), found[0])


def edit_text(text: str, pid: str, edits: Sequence[Edit], *, heading: str | None = None) -> str:
    """Apply ``edits`` to priority ``pid`` in ``text`` (in memory) — e.g. a roadmap in a git worktree.

    With a duplicated id, ``heading`` (the section's first line) picks the copy;
    without it, the copy with a status line or deliverables is edited.
    RoadmapError when ``pid`` is not in ``text``.
    """
    result = text
    for edit in edits:  # re-parse between edits: an inserted line moves the ones below
        lines = result.split("\n")
        edit(lines, _locate(parse_roadmap(result), pid, heading))
        result = "\n".join(lines)
    return result


def _changes(before: str, after: str) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """The changed hunks (old lines, new lines) from ``before`` to ``after``, positions left out.

    The common head and tail are cut first: an edit touches one section, and
    SequenceMatcher over a whole 33k-line roadmap takes seconds, over a section
    milliseconds.
    """
    a, b = before.split("\n"), after.split("\n")
    head, limit = 0, min(len(a), len(b))
    while head < limit and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < limit - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    a, b = a[head: len(a) - tail], b[head: len(b) - tail]
    return [(tuple(a[i1:i2]), tuple(b[j1:j2]))
            for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
            if tag != "equal"]


def atomic_write(path: Path, text: str, *, expect: str | None = None) -> None:
    """Replace the file (a symlink's target) with ``text`` atomically and durably.

    With ``expect``, the target is compared with it once more just before the
    replace (after the slow fsync), narrowing the window in which a person's save
    could be lost; a difference raises RoadmapConflictError and writes nothing.
    """
    target = Path(os.path.realpath(path))
    mode = target.stat().st_mode & 0o7777 if target.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        if expect is not None and _bytes_or_none(target) != expect.encode("utf-8"):
            raise RoadmapConflictError(f"The roadmap {path} changed on disk while it was being written; "
                                       "nothing was written. Re-read it and try again.")
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _bytes_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


class RoadmapEditor:
    """Edits one roadmap file; remembers what it read to detect concurrent changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.text = read_text(path)

    def apply(self, pid: str, edits: Sequence[Edit], *, heading: str | None = None) -> bool:
        """Apply and write; returns False when the edits changed nothing."""
        edited = edit_text(self.text, pid, edits, heading=heading)
        if edited == self.text:
            return False
        current = read_text(self.path)
        if current != self.text:
            rebased = edit_text(current, pid, edits, heading=heading)
            if rebased == current:  # the person already made this very change
                self.text = current
                return False
            if _changes(current, rebased) != _changes(self.text, edited):
                raise RoadmapConflictError(
                    f"The roadmap {self.path} was changed on disk in the lines this edit touches "
                    f"({normalise_id(pid)}); nothing was written. Re-read it and try again.")
            edited = rebased
        atomic_write(self.path, edited, expect=current)
        self.text = edited
        return True

    def set_status(self, pid: str, status: Status, reason: str = "") -> bool:
        return self.apply(pid, [SetStatus(status, reason)])

    def tick(self, pid: str, which: Sequence[int | str] | None = None) -> bool:
        return self.apply(pid, [Tick(which)])

    def set_note(self, pid: str, label: str, value: str) -> bool:
        return self.apply(pid, [SetNote(label, value)])
