"""The editor changes only the intended lines, atomically, and never overwrites a person's edit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from coffee_maker.errors import RoadmapConflictError
from coffee_maker.roadmap import (
    RoadmapEditor,
    SetNote,
    SetStatus,
    Tick,
    atomic_write,
    parse_roadmap,
    read_text,
)
from coffee_maker.types import Status

SAMPLE = "# R\n\n## PRIORITY 1: One\n\n**Status**: 📝 Planned  \n\n- [ ] first\n- [ ] second\n\n## PRIORITY 2: Two\n"


def _changed_lines(before: bytes, after: bytes) -> list[int]:
    a, b = before.split(b"\n"), after.split(b"\n")
    return [i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y]


class TestRoundTrip:
    @pytest.mark.parametrize("name", ["coffee_maker_head_2025-10-28.md", "coffee_maker_mvp_2025-10-09.md",
                                      "coffee_maker_seed_2025-10-09.md"])
    def test_parse_and_write_is_byte_identical(self, roadmaps_dir: Path, tmp_path: Path, name: str) -> None:
        """Reading, parsing and writing back without an edit keeps every byte."""
        original = (roadmaps_dir / name).read_bytes()
        path = tmp_path / name
        path.write_bytes(original)
        editor = RoadmapEditor(path)
        parse_roadmap(editor.text)
        atomic_write(path, editor.text)
        assert path.read_bytes() == original

    def test_real_file_edit_touches_only_its_lines(self, roadmaps_dir: Path, tmp_path: Path) -> None:
        """Completing PRIORITY 24 in the head file changes its heading, status line and boxes only."""
        path = tmp_path / "ROADMAP.md"
        original = (roadmaps_dir / "coffee_maker_head_2025-10-28.md").read_bytes()
        path.write_bytes(original)
        p24 = parse_roadmap(original.decode()).get("PRIORITY 24")
        assert p24 is not None
        RoadmapEditor(path).apply("PRIORITY 24", [SetStatus(Status.COMPLETE), Tick()])
        after = path.read_bytes()
        expected = {p24.line - 1, (p24.status_line or 0) - 1} | {d.line - 1 for d in p24.deliverables if not d.checked}
        assert set(_changed_lines(original, after)) == expected
        assert parse_roadmap(after.decode()).get("PRIORITY 24").status is Status.COMPLETE  # type: ignore[union-attr]


class TestEdits:
    def test_status_tick_note(self, tmp_path: Path) -> None:
        """Status, ticks and a note change only their lines; trailing spaces elsewhere survive."""
        path = tmp_path / "ROADMAP.md"
        path.write_text(SAMPLE)
        editor = RoadmapEditor(path)
        editor.apply("1", [SetStatus(Status.COMPLETE), Tick(), SetNote("PR", "https://x/pr/1")])
        text = path.read_text()
        assert "**Status**: ✅ Complete\n**PR**: https://x/pr/1\n" in text
        assert "- [x] first\n- [x] second\n" in text
        assert text.endswith("## PRIORITY 2: Two\n")
        editor.set_note("PRIORITY 1", "PR", "https://x/pr/2")  # replaced, not duplicated
        assert path.read_text().count("**PR**:") == 1

    def test_crlf_and_missing_final_newline(self, tmp_path: Path) -> None:
        """CRLF endings and a missing final newline are kept."""
        path = tmp_path / "ROADMAP.md"
        original = SAMPLE.rstrip("\n").replace("\n", "\r\n").encode()
        path.write_bytes(original)
        RoadmapEditor(path).apply("PRIORITY 1", [SetStatus(Status.BLOCKED, "tests fail"), Tick([0])])
        after = path.read_bytes()
        assert b"**Status**: \xe2\x8f\xb8\xef\xb8\x8f Blocked \xe2\x80\x94 tests fail\r\n" in after
        assert b"- [x] first\r\n- [ ] second\r\n" in after
        assert not after.endswith(b"\n") and after.count(b"\r\n") == original.count(b"\r\n")

    def test_status_line_inserted_when_missing(self, tmp_path: Path) -> None:
        """A priority without a status line gets one under its heading."""
        path = tmp_path / "ROADMAP.md"
        path.write_text("## US-001: A\nBody\n")
        RoadmapEditor(path).set_status("US-001", Status.COMPLETE)
        assert path.read_text() == "## US-001: A\n\n**Status**: ✅ Complete\nBody\n"

    def test_symlink_is_kept_and_target_written(self, tmp_path: Path) -> None:
        """Editing through a symlinked roadmap writes the target and keeps the link."""
        (tmp_path / "roadmap").mkdir()
        target = tmp_path / "roadmap" / "ROADMAP.md"
        target.write_text(SAMPLE)
        link = tmp_path / "ROADMAP.md"
        link.symlink_to(Path("roadmap") / "ROADMAP.md")
        RoadmapEditor(link).set_status("PRIORITY 1", Status.IN_PROGRESS)
        assert link.is_symlink() and os.readlink(link) == "roadmap/ROADMAP.md"
        assert "🔄 In Progress" in target.read_text()

    def test_noop_edit_writes_nothing(self, tmp_path: Path) -> None:
        """Setting the status it already has leaves the file alone."""
        path = tmp_path / "ROADMAP.md"
        path.write_text(SAMPLE.replace("📝 Planned  ", "📝 Planned"))
        mtime = path.stat().st_mtime_ns
        assert RoadmapEditor(path).set_status("PRIORITY 1", Status.PLANNED) is False
        assert path.stat().st_mtime_ns == mtime


class TestConcurrentEdits:
    def test_unrelated_person_edit_is_kept(self, tmp_path: Path) -> None:
        """A person's edit elsewhere since the read is kept and the daemon's edit re-applied."""
        path = tmp_path / "ROADMAP.md"
        path.write_text(SAMPLE)
        editor = RoadmapEditor(path)
        path.write_text(SAMPLE + "\n## PRIORITY 3: Added by a person\n")
        editor.set_status("PRIORITY 1", Status.COMPLETE)
        text = path.read_text()
        assert "Added by a person" in text and "✅ Complete" in text

    def test_conflicting_person_edit_is_refused(self, tmp_path: Path) -> None:
        """A person's change to the same status line makes the edit fail and the file stays theirs."""
        path = tmp_path / "ROADMAP.md"
        path.write_text(SAMPLE)
        editor = RoadmapEditor(path)
        theirs = SAMPLE.replace("📝 Planned  ", "⏸️ Blocked by me")
        path.write_text(theirs)
        with pytest.raises(RoadmapConflictError, match="changed on disk"):
            editor.set_status("PRIORITY 1", Status.COMPLETE)
        assert read_text(path) == theirs

    def test_person_made_the_same_change(self, tmp_path: Path) -> None:
        """When the person already completed the priority on disk, the edit is a no-op, not a conflict."""
        path = tmp_path / "ROADMAP.md"
        path.write_text(SAMPLE)
        editor = RoadmapEditor(path)
        theirs = SAMPLE.replace("📝 Planned  ", "✅ Complete")
        path.write_text(theirs)
        assert editor.set_status("PRIORITY 1", Status.COMPLETE) is False
        assert path.read_text() == theirs

    def test_line_inserted_above_and_ticked_box_changed(self, tmp_path: Path) -> None:
        """Lines a person inserts above shift the edit (re-applied); a person's edit of a box it ticks is refused."""
        path = tmp_path / "ROADMAP.md"
        path.write_text(SAMPLE)
        editor = RoadmapEditor(path)
        path.write_text("Intro by a person.\n\n" + SAMPLE)
        editor.apply("PRIORITY 1", [Tick([0])])
        assert path.read_text().startswith("Intro by a person.\n") and "- [x] first\n- [ ] second\n" in path.read_text()
        editor = RoadmapEditor(path)
        theirs = path.read_text().replace("- [ ] second", "- [ ] second, reworded")
        path.write_text(theirs)
        with pytest.raises(RoadmapConflictError):
            editor.apply("PRIORITY 1", [Tick([1])])
        assert path.read_text() == theirs


def test_byte_order_mark_is_read_and_kept(tmp_path: Path) -> None:
    """A UTF-8 byte-order mark before a first-line priority heading is neither in the way nor lost."""
    path = tmp_path / "ROADMAP.md"
    path.write_bytes(b"\xef\xbb\xbf## PRIORITY 1: A\r\n**Status**: planned\r\n")
    assert parse_roadmap(read_text(path)).get("1") is not None
    RoadmapEditor(path).set_status("1", Status.COMPLETE)
    assert path.read_bytes() == "\ufeff## PRIORITY 1: A\r\n**Status**: ✅ Complete\r\n".encode()
