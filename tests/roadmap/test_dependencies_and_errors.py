"""Dependency cycles, self and missing dependencies, and roadmap errors: reported by `check`, `next` and `list`,
and never silently leaving the daemon idle."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from coffee_maker.roadmap import explain, parse_roadmap

CYCLE = (
    "## PRIORITY 1: One\n**Status**: 📝 Planned\n**Dependencies**: PRIORITY 2\n\n"
    "## PRIORITY 2: Two\n**Status**: 📝 Planned\n**Dependencies**: PRIORITY 3\n\n"
    "## PRIORITY 3: Three\n**Status**: 📝 Planned\n**Dependencies**: PRIORITY 1\n\n"
    "## PRIORITY 4: Self\n**Status**: 📝 Planned\n**Dependencies**: PRIORITY 4\n\n"
    "## PRIORITY 5: Missing\n**Status**: 📝 Planned\n**Dependencies**: PRIORITY 99\n"
)


def cm(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "coffee_maker", *args, "--repo", str(repo)], capture_output=True,
                          text=True, timeout=60)


def repo_with(tmp_path: Path, text: str) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "ROADMAP.md").write_text(text)
    return tmp_path


class TestDependencyErrors:
    def test_check_reports_each_with_its_chain(self, tmp_path: Path) -> None:
        """`roadmap check` exits 1 with the cycle spelled out, the self-dependency and the missing id."""
        result = cm(repo_with(tmp_path, CYCLE), "roadmap", "check")
        assert result.returncode == 1, result
        out = result.stdout
        assert "dependency_cycle: dependency cycle: PRIORITY 1 → PRIORITY 2 → PRIORITY 3 → PRIORITY 1" in out
        assert out.count("dependency_cycle") == 1  # one cycle, reported once
        assert "self_dependency: PRIORITY 4 depends on itself" in out
        assert "missing_dependency: PRIORITY 5 depends on PRIORITY 99, which is not in the roadmap" in out

    def test_next_says_why_nothing_is_ready(self, tmp_path: Path) -> None:
        """`roadmap next` names the cycle, the self-dependency and the missing one for each skipped priority."""
        result = cm(repo_with(tmp_path, CYCLE), "roadmap", "next", "--json")
        reasons = {s["id"]: s["reason"] for s in json.loads(result.stdout)["skipped"]}
        assert json.loads(result.stdout)["next"] is None
        assert reasons["PRIORITY 2"] == "in a dependency cycle: PRIORITY 2 → PRIORITY 3 → PRIORITY 1 → PRIORITY 2"
        assert "depends on itself" in reasons["PRIORITY 4"]
        assert reasons["PRIORITY 5"] == "waits for PRIORITY 99 (not in the roadmap)"

    def test_complete_priorities_are_history(self) -> None:
        """A cycle among complete priorities, or a complete one naming a removed id, is not an error."""
        roadmap = parse_roadmap(CYCLE.replace("📝 Planned", "✅ Complete"))
        assert not [w for w in roadmap.warnings if "dependency" in w.kind]


class TestRoadmapErrorsElsewhere:
    FENCE = ("## PRIORITY 1: Fine\n**Status**: 📝 Planned\n\n"
             "## PRIORITY 2: Broken\n**Status**: 📝 Planned\n```python\nprint('never closed')\n"
             "## PRIORITY 3: Swallowed\n**Status**: 📝 Planned\n")

    def test_next_and_list_report_errors(self, tmp_path: Path) -> None:
        """`next` and `list` print the roadmap errors `check` fails on (on stderr, so --json stays clean)."""
        repo = repo_with(tmp_path, self.FENCE)
        for command in (["roadmap", "next"], ["roadmap", "list"], ["roadmap", "next", "--json"]):
            result = cm(repo, *command)
            assert result.returncode == 0 and "code fence opened at line 6 is never closed" in result.stderr, result
            assert "roadmap check" in result.stderr
        assert json.loads(cm(repo, "roadmap", "next", "--json").stdout)["next"]["id"] == "PRIORITY 1"

    def test_an_undelimited_section_is_not_started(self) -> None:
        """The priority whose section holds the unclosed fence is held back, with the reason."""
        roadmap = parse_roadmap(self.FENCE.replace("📝 Planned", "✅ Complete", 1))
        chosen, skipped = explain(roadmap)
        assert chosen is None
        assert skipped[0].priority.id == "PRIORITY 2" and "cannot be delimited" in skipped[0].reason

    def test_duplicated_planned_id_is_held_back(self) -> None:
        """Two planned copies of an id: neither is started (the editor could tick the wrong one)."""
        roadmap = parse_roadmap("## PRIORITY 1: A\n**Status**: 📝 Planned\n\n## PRIORITY 1: B\n**Status**: 📝 Planned\n"
                                "\n## PRIORITY 2: C\n**Status**: 📝 Planned\n")
        chosen, skipped = explain(roadmap)
        assert chosen is not None and chosen.id == "PRIORITY 2"
        assert [s.reason for s in skipped] == ["PRIORITY 1 appears 2 times (lines 1, 4); give each copy its own id"] * 2
