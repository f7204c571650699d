"""Mojibake, guideline sections, `roadmap check` errors, and edits on each real roadmap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coffee_maker.cli import main
from coffee_maker.errors import RoadmapConflictError
from coffee_maker.roadmap import (
    RoadmapEditor,
    SetNote,
    SetStatus,
    Tick,
    atomic_write,
    edit_text,
    errors,
    guideline_sections,
    parse_roadmap,
)
from coffee_maker.roadmap.status import read_status
from coffee_maker.types import Status

HEAD = "coffee_maker_head_2025-10-28.md"
MVP = "coffee_maker_mvp_2025-10-09.md"
SEED = "coffee_maker_seed_2025-10-09.md"
ALL = [HEAD, MVP, SEED]


class TestMojibake:
    def test_seed_priority_6_is_planned(self, roadmaps_dir: Path) -> None:
        """The seed's `ğŸ“ Complete documentation created` is the 📝 marker, so PRIORITY 6 is planned."""
        roadmap = parse_roadmap((roadmaps_dir / SEED).read_text(encoding="utf-8"))
        p6 = roadmap.get("PRIORITY 6")
        assert p6 is not None and p6.status_text.startswith("ğŸ“ Complete")
        assert p6.status is Status.PLANNED
        assert {p.status for p in roadmap.priorities} == {Status.PLANNED}

    @pytest.mark.parametrize(("text", "status"), [
        ("ğŸ“ Complete documentation created", Status.PLANNED),
        ("ðŸ“ Complete", Status.PLANNED),
        ("ğŸ”„ **IN PROGRESS** done soon", Status.IN_PROGRESS),
        ("ğŸš§ building", Status.IN_PROGRESS),
        ("âœ… **COMPLETED** (Sprint 1 & 2)", Status.COMPLETE),
        ("â¸ï¸ Blocked", Status.BLOCKED),
        ("ğŸ“‹ done", Status.COMPLETE),  # 📋 is not a status marker; the word decides
    ])
    def test_mojibake_markers(self, text: str, status: Status) -> None:
        """Mojibake status emoji read as the emoji they were; other mojibake emoji are ignored."""
        assert read_status(text) is status


class TestFences:
    def test_inline_triple_backticks_do_not_open_a_fence(self) -> None:
        """A one-line ```span``` is not a fence, so the priority after it is still read."""
        text = "## PRIORITY 1: A ✅\nRun ```make``` first.\n```make test```\n## PRIORITY 2: B\n**Status**: 📝 Planned\n"
        roadmap = parse_roadmap(text)
        assert [p.id for p in roadmap.priorities] == ["PRIORITY 1", "PRIORITY 2"]
        assert not roadmap.warnings

    def test_longer_fence_holds_shorter_one(self) -> None:
        """A ```` fence is closed only by ```` or longer, and ~~~ does not close ```."""
        text = "````md\n```\n## PRIORITY 9: Fake\n```\n~~~\n````\n## PRIORITY 1: Real\n"
        assert [p.id for p in parse_roadmap(text).priorities] == ["PRIORITY 1"]


class TestGuidelines:
    @pytest.mark.parametrize("name", ALL)
    def test_real_guideline_sections(self, roadmaps_dir: Path, name: str) -> None:
        """Each real roadmap yields its git and technology-selection sections, without priorities."""
        sections = dict(guideline_sections((roadmaps_dir / name).read_text(encoding="utf-8")))
        assert set(sections) == {"Git Strategy and Versioning", "Technology Selection Guidelines"}
        assert all(body and "## PRIORITY" not in body for body in sections.values())

    def test_small_case(self) -> None:
        """Only non-priority level-2 sections with guideline-like titles are returned, bodies trimmed."""
        text = ("# R\n## 🧭 Coding Standards\n\nUse ruff.\n### Details\nmore\n## PRIORITY 1: Git conventions\n"
                "body\n## Vision\nbig\n## Git Conventions\n```\n## Not a heading\n```\n")
        assert guideline_sections(text) == [("Coding Standards", "Use ruff.\n### Details\nmore"),
                                            ("Git Conventions", "```\n## Not a heading\n```")]


class TestCheck:
    def _run(self, tmp_path: Path, text: str) -> int:
        path = tmp_path / "ROADMAP.md"
        path.write_text(text)
        return main(["roadmap", "check", "--json", "--repo", str(tmp_path), "--roadmap", str(path)])

    def test_complete_duplicates_are_warnings(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Duplicated ids whose copies are all complete are warnings: check exits 0."""
        text = "## US-001: A\n**Status**: ✅ Complete\n## US-001: A again\n**Status**: ✅ Done\n"
        assert self._run(tmp_path, text) == 0
        (warning,) = json.loads(capsys.readouterr().out)
        assert (warning["kind"], warning["line"], warning["error"]) == ("duplicate_id", 3, False)

    def test_planned_duplicate_is_an_error(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A duplicated id with a copy still planned is an error: check exits 1."""
        text = "## US-001: A\n**Status**: ✅ Complete\n## US-001: A again\n**Status**: 📝 Planned\n"
        assert self._run(tmp_path, text) == 1
        assert json.loads(capsys.readouterr().out)[0]["error"] is True

    def test_head_file_errors(self, roadmaps_dir: Path) -> None:
        """In the head file PRIORITY 3 and 7 (a copy planned) are errors; US-056/057 (all complete) are not."""
        roadmap = parse_roadmap((roadmaps_dir / HEAD).read_text(encoding="utf-8"))
        assert [w.line for w in errors(roadmap)] == [14517, 20889]
        assert len([w for w in roadmap.warnings if w.kind == "duplicate_id"]) == 4

    def test_help_documents_errors(self, capsys: pytest.CaptureFixture[str]) -> None:
        """`roadmap check --help` says what counts as an error."""
        assert main(["roadmap", "check", "--help"]) == 0
        out = " ".join(capsys.readouterr().out.split())
        assert "unclosed code fence" in out and "not complete" in out


class TestCommandsOnHeadFile:
    def test_list_table_and_show(self, roadmaps_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """`list` prints the table; `show us-062` and `show 2.5` find their priorities case-insensitively."""
        args = ["--roadmap", str(roadmaps_dir / HEAD)]
        assert main(["roadmap", "list", *args]) == 0
        assert "PRIORITY 24" in capsys.readouterr().out
        assert main(["roadmap", "show", "us-062", "--json", *args]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert (shown["id"], shown["status"], shown["line"]) == ("US-062", "complete", 31086)
        assert main(["roadmap", "show", "2.5", "--json", *args]) == 0
        assert json.loads(capsys.readouterr().out)["title"] == "New User Experience & Documentation"

    def test_next_on_head_file(self, roadmaps_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """`next` on the head file picks PRIORITY 24 at line 369."""
        assert main(["roadmap", "next", "--json", "--roadmap", str(roadmaps_dir / HEAD)]) == 0
        picked = json.loads(capsys.readouterr().out)["next"]
        assert (picked["id"], picked["line"]) == ("PRIORITY 24", 369)


class TestRealEdits:
    @pytest.mark.parametrize("name", ALL)
    def test_first_planned_edit_touches_only_its_lines(self, roadmaps_dir: Path, tmp_path: Path, name: str) -> None:
        """Completing the first planned priority of each real file changes only its status and note lines."""
        original = (roadmaps_dir / name).read_bytes()
        path = tmp_path / "ROADMAP.md"
        path.write_bytes(original)
        p = next(p for p in parse_roadmap(original.decode()).priorities if p.status is Status.PLANNED)
        assert p.status_line is not None
        RoadmapEditor(path).apply(p.id, [SetStatus(Status.COMPLETE), SetNote("PR", "https://example.test/pr/1")],
                                  heading=p.text.split("\n", 1)[0])
        before, after = original.split(b"\n"), path.read_bytes().split(b"\n")
        i = p.status_line  # the note line is inserted right under the status line
        assert [j for j in range(i - 1) if after[j] != before[j]] in ([], [p.line - 1])  # the heading's marker
        assert after[i].startswith(b"**PR**: https://example.test/pr/1") and after[i + 1:] == before[i:]
        assert b"\xe2\x9c\x85 Complete" in after[i - 1]
        edited = parse_roadmap(path.read_text(encoding="utf-8")).find(p.id)
        assert any(q.line == p.line and q.status is Status.COMPLETE for q in edited)

    def test_edit_text_in_memory_matches_file_edit(self, roadmaps_dir: Path, tmp_path: Path) -> None:
        """`edit_text` gives exactly what the file editor writes."""
        text = (roadmaps_dir / HEAD).read_text(encoding="utf-8")
        edits = [SetStatus(Status.BLOCKED, "tests fail"), Tick([0, "nope"])]
        path = tmp_path / "ROADMAP.md"
        path.write_text(text, encoding="utf-8")
        RoadmapEditor(path).apply("PRIORITY 24", edits)
        assert path.read_text(encoding="utf-8") == edit_text(text, "PRIORITY 24", edits)

    def test_atomic_write_refuses_when_file_changed(self, tmp_path: Path) -> None:
        """With `expect`, a file that no longer holds the expected text is left alone."""
        path = tmp_path / "ROADMAP.md"
        path.write_text("mine\n")
        with pytest.raises(RoadmapConflictError, match="changed on disk"):
            atomic_write(path, "daemon\n", expect="what the daemon read\n")
        assert path.read_text() == "mine\n" and [p.name for p in tmp_path.iterdir()] == ["ROADMAP.md"]

    def test_symlink_to_missing_target_is_exit_2(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A dangling docs/ROADMAP.md symlink is one clear sentence and exit 2."""
        (tmp_path / "docs").mkdir()
        (tmp_path / "docs" / "ROADMAP.md").symlink_to("roadmap/ROADMAP.md")
        assert main(["roadmap", "list", "--repo", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert "does not exist" in err and err.count("\n") == 1 and "Traceback" not in err

    def test_head_file_concurrent_edits(self, roadmaps_dir: Path, tmp_path: Path) -> None:
        """On the head file, a person's edit inside PRIORITY 24's section is kept; one to its status line is not overwritten."""
        original = (roadmaps_dir / HEAD).read_text(encoding="utf-8")
        path = tmp_path / "ROADMAP.md"
        path.write_text(original, encoding="utf-8")
        editor = RoadmapEditor(path)
        lines = original.split("\n")
        lines[374] += " (added by a person)"
        path.write_text("\n".join(lines), encoding="utf-8")
        assert editor.apply("PRIORITY 24", [SetStatus(Status.COMPLETE), Tick()])
        edited = path.read_text(encoding="utf-8")
        assert "(added by a person)" in edited and "**Status**: ✅ Complete" in edited.split("\n")[370]
        editor = RoadmapEditor(path)
        lines = edited.split("\n")
        lines[370] = "**Status**: ⏸️ Blocked by me"
        theirs = "\n".join(lines)
        path.write_text(theirs, encoding="utf-8")
        with pytest.raises(RoadmapConflictError):
            editor.apply("PRIORITY 24", [SetStatus(Status.IN_PROGRESS)])
        assert path.read_text(encoding="utf-8") == theirs
