"""The parser against the three real roadmaps and small hand-made cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from coffee_maker.roadmap import parse_roadmap
from coffee_maker.roadmap.parser import priority_heading
from coffee_maker.roadmap.status import read_status
from coffee_maker.types import Status

HEAD = "coffee_maker_head_2025-10-28.md"
MVP = "coffee_maker_mvp_2025-10-09.md"
SEED = "coffee_maker_seed_2025-10-09.md"


def _read(roadmaps_dir: Path, name: str) -> str:
    return (roadmaps_dir / name).read_text(encoding="utf-8")


class TestRealRoadmaps:
    def test_mvp_priority_6_is_planned(self, roadmaps_dir: Path) -> None:
        """`📝 Complete documentation created` is planned: the first marker decides."""
        roadmap = parse_roadmap(_read(roadmaps_dir, MVP))
        p6 = roadmap.get("PRIORITY 6")
        assert p6 is not None and p6.title == "Innovative Projects"
        assert p6.status is Status.PLANNED
        assert p6.status_text.startswith("📝 Complete documentation created")

    def test_head_first_planned_is_priority_24(self, roadmaps_dir: Path) -> None:
        """In the head file the first planned priority in file order is PRIORITY 24 at line 369."""
        roadmap = parse_roadmap(_read(roadmaps_dir, HEAD))
        first = next(p for p in roadmap.priorities if p.status is Status.PLANNED)
        assert (first.id, first.line) == ("PRIORITY 24", 369)

    def test_head_us062_status_line_wins(self, roadmaps_dir: Path) -> None:
        """US-062's heading says Planned, its status line Complete: it is complete, with a warning."""
        roadmap = parse_roadmap(_read(roadmaps_dir, HEAD))
        us062 = roadmap.get("US-062")
        assert us062 is not None and us062.status is Status.COMPLETE
        assert any(w.kind == "status_mismatch" and w.line == us062.line for w in roadmap.warnings)

    def test_mentions_are_not_priorities(self, roadmaps_dir: Path) -> None:
        """'After PRIORITY 2: …' and 'Future Enhancements (Post-PRIORITY 3)' are not priorities."""
        for name in (HEAD, MVP, SEED):
            for p in parse_roadmap(_read(roadmaps_dir, name)).priorities:
                assert "After" not in p.title and "Post-PRIORITY" not in p.text.split("\n", 1)[0]

    def test_nothing_inside_fences(self, roadmaps_dir: Path) -> None:
        """The fenced example roadmap near the top of the head file yields no priority."""
        text = _read(roadmaps_dir, HEAD)
        lines = text.split("\n")
        roadmap = parse_roadmap(text)
        assert lines[135].startswith("### PRIORITY 1: Analytics")  # inside ```markdown … ```
        assert all(p.line != 136 for p in roadmap.priorities)
        inside = _fenced_lines(lines)
        assert not [p for p in roadmap.priorities if p.line in inside]

    def test_duplicates_are_reported(self, roadmaps_dir: Path) -> None:
        """Repeated ids are warnings with line numbers, in both large files."""
        for name in (HEAD, MVP):
            roadmap = parse_roadmap(_read(roadmaps_dir, name))
            dupes = [w for w in roadmap.warnings if w.kind == "duplicate_id"]
            assert dupes and all(w.line > 0 for w in dupes)
        mvp = parse_roadmap(_read(roadmaps_dir, MVP))
        assert len(mvp.find("PRIORITY 3")) >= 2

    def test_decimal_ids_and_titles(self, roadmaps_dir: Path) -> None:
        """Dotted ids parse, and bold/emoji decoration is not part of the title."""
        roadmap = parse_roadmap(_read(roadmaps_dir, MVP))
        p = roadmap.get("2.5")
        assert p is not None and p.title == "New User Experience & Documentation"

    def test_seed_mojibake_reads_status_words(self, roadmaps_dir: Path) -> None:
        """The seed's emoji are mojibake, but its headings and status words still parse."""
        roadmap = parse_roadmap(_read(roadmaps_dir, SEED))
        assert roadmap.get("PRIORITY 1") is not None
        assert {p.status for p in roadmap.priorities} <= {Status.PLANNED, Status.COMPLETE, Status.IN_PROGRESS}

    def test_head_checkbox_count(self, roadmaps_dir: Path) -> None:
        """Deliverables are read with lines and checked state from the head file's thousands of boxes."""
        text = _read(roadmaps_dir, HEAD)
        roadmap = parse_roadmap(text)
        lines = text.split("\n")
        boxes = [d for p in roadmap.priorities for d in p.deliverables]
        assert len(boxes) > 300
        for d in boxes[:50]:
            assert ("[x]" in lines[d.line - 1].lower()) == d.checked


def _fenced_lines(lines: list[str]) -> set[int]:
    inside, fence = set(), None
    for i, line in enumerate(lines, 1):
        s = line.lstrip()
        if fence:
            inside.add(i)
            if s.startswith(fence):
                fence = None
        elif s.startswith(("```", "~~~")):
            fence = s[:3]
            inside.add(i)
    return inside


class TestSmallCases:
    def test_section_span_and_fields(self) -> None:
        """Sections end at the next same-level heading; deps and boxes are collected."""
        text = (
            "# Roadmap\n\n## PRIORITY 1: One\n**Status**: ✅ Done\n- [x] a\n\n### Notes\n- [ ] b\n"
            "## PRIORITY 2: Two\n**Status**: 📝 Planned\n**Dependencies**: PRIORITY 1, US-007\n"
            "```\n## PRIORITY 9: Fake\n```\n## Other\ntext\n"
        )
        roadmap = parse_roadmap(text)
        assert [p.id for p in roadmap.priorities] == ["PRIORITY 1", "PRIORITY 2"]
        one, two = roadmap.priorities
        assert (one.line, one.end_line, one.status) == (3, 8, Status.COMPLETE)
        assert [(d.text, d.checked) for d in one.deliverables] == [("a", True), ("b", False)]
        assert two.dependencies == ("PRIORITY 1", "US-007") and two.end_line == 14

    def test_unclosed_fence_warns(self) -> None:
        """An unclosed fence is a warning naming its line."""
        roadmap = parse_roadmap("## PRIORITY 1: A\n**Status**: planned\n\n```python\nx = 1\n")
        assert [(w.kind, w.line) for w in roadmap.warnings] == [("unclosed_fence", 4)]

    def test_unknown_status_warns(self) -> None:
        """A status line with no marker is unknown, with a warning."""
        roadmap = parse_roadmap("## US-001: A\n**Status**: 🧪 Ready for testing\n")
        assert roadmap.priorities[0].status is Status.UNKNOWN
        assert roadmap.warnings[0].kind == "unknown_status"

    def test_dependencies_listed_below(self) -> None:
        """A dependencies line with bullets below takes the ids from the bullets."""
        roadmap = parse_roadmap("## PRIORITY 3: C\n**Dependencies**:\n- PRIORITY-1 done\n- US-002\n\nBody\n")
        assert roadmap.priorities[0].dependencies == ("PRIORITY 1", "US-002")

    @pytest.mark.parametrize(("heading", "expected"), [
        ("🔴 **PRIORITY 2.65: Title** ⚡ NEW", ("PRIORITY 2.65", "Title")),
        ("US-062: Implement skill 📝 Planned", ("US-062", "Implement skill")),
        ("After PRIORITY 2: You Stop Coding", None),
        ("Future Enhancements (Post-PRIORITY 3)", None),
        ("PRIORITY 3 - no colon", None),
    ])
    def test_priority_headings(self, heading: str, expected: tuple[str, str] | None) -> None:
        """Only headings that start with an id and a colon are priorities."""
        assert priority_heading(heading) == expected

    @pytest.mark.parametrize(("text", "status"), [
        ("📝 Complete documentation created", Status.PLANNED),
        ("🔄 **MOSTLY COMPLETE**", Status.IN_PROGRESS),
        ("Partially complete", Status.IN_PROGRESS),
        ("✅ COMPLETE (2025-10-16)", Status.COMPLETE),
        ("⏸️ Blocked — waiting", Status.BLOCKED),
        ("In Progress", Status.IN_PROGRESS),
        ("done", Status.COMPLETE),
        ("🚧 building", Status.IN_PROGRESS),
        ("nothing here", Status.UNKNOWN),
    ])
    def test_first_marker_decides(self, text: str, status: Status) -> None:
        """The first status marker in the text decides."""
        assert read_status(text) is status

    def test_closing_hashes_and_us_lookup(self) -> None:
        """A closing `##` run is dropped only after a space, and `us 62` finds `US-062`."""
        roadmap = parse_roadmap("## US-062: Port to C# ##\n**Status**: planned\n## US-063: Learn C#\n")
        assert [p.title for p in roadmap.priorities] == ["Port to C#", "Learn C#"]
        assert roadmap.get("us 62") is roadmap.priorities[0] and roadmap.get("US-62") is roadmap.priorities[0]

    def test_case_of_the_id_word_does_not_matter(self) -> None:
        """`## Priority 2: x` and `### us-7: y` are priorities with canonical ids; deps are read the same way."""
        roadmap = parse_roadmap("## Priority 2: x\n**Status**: planned\n### us-7: y\n**Dependency**: priority 2\n")
        assert [p.id for p in roadmap.priorities] == ["PRIORITY 2", "US-7"]
        assert roadmap.priorities[1].dependencies == ("PRIORITY 2",)
