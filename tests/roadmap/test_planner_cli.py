"""The planner, and the roadmap commands with good and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coffee_maker.cli import main
from coffee_maker.roadmap import explain, next_priority, parse_roadmap
from coffee_maker.types import Status

ROADMAP = (
    "## PRIORITY 1: Done\n**Status**: ✅ Complete\n\n"
    "## PRIORITY 2: Needs one\n**Status**: 📝 Planned\n**Dependency**: PRIORITY 1\n- [ ] x\n\n"
    "## PRIORITY 3: Needs two\n**Status**: 📝 Planned\n**Dependency**: PRIORITY 2\n\n"
    "## PRIORITY 4: Free\n**Status**: 📝 Planned\n"
)


class TestPlanner:
    def test_first_planned_with_deps_complete(self) -> None:
        """The first planned priority whose dependencies are complete comes next."""
        assert next_priority(parse_roadmap(ROADMAP)).id == "PRIORITY 2"  # type: ignore[union-attr]

    def test_in_review_and_dependants_wait(self) -> None:
        """A priority in review is skipped, and one that depends on it waits."""
        chosen, skipped = explain(parse_roadmap(ROADMAP), in_review=frozenset({"PRIORITY 2"}))
        assert chosen is not None and chosen.id == "PRIORITY 4"
        assert [s.reason for s in skipped] == ["in review (a pull request is open)",
                                              "waits for PRIORITY 2 (in review)"]

    def test_blocked_and_unknown_dependency(self) -> None:
        """Blocked priorities and unknown dependencies are skipped with a reason."""
        text = ROADMAP.replace("**Dependency**: PRIORITY 1", "**Dependency**: PRIORITY 99")
        chosen, skipped = explain(parse_roadmap(text), blocked=frozenset({"PRIORITY 4"}))
        assert chosen is None
        assert "PRIORITY 99 (not in the roadmap)" in skipped[0].reason


def _repo(tmp_path: Path, text: str | bytes) -> Path:
    (tmp_path / "docs").mkdir()
    target = tmp_path / "docs" / "ROADMAP.md"
    if isinstance(text, bytes):
        target.write_bytes(text)
    else:
        target.write_text(text)
    return tmp_path


class TestRoadmapCommands:
    def test_list_json(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """`roadmap list --json` prints the documented keys."""
        assert main(["roadmap", "list", "--json", "--repo", str(_repo(tmp_path, ROADMAP))]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert rows[1] == {**rows[1], "id": "PRIORITY 2", "title": "Needs one", "status": "planned", "line": 4,
                           "deliverables_done": 0, "deliverables_total": 1}

    def test_next_and_show(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """`next --json` names the pick; `show` accepts a bare number."""
        repo = _repo(tmp_path, ROADMAP)
        assert main(["roadmap", "next", "--json", "--repo", str(repo)]) == 0
        assert json.loads(capsys.readouterr().out)["next"]["id"] == "PRIORITY 2"
        assert main(["roadmap", "show", "3", "--json", "--repo", str(repo)]) == 0
        assert json.loads(capsys.readouterr().out)["dependencies"] == ["PRIORITY 2"]
        assert main(["roadmap", "show", "42", "--repo", str(repo)]) == 2

    def test_check_json_and_exit_code(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """`check` exits 1 on an unclosed fence and prints line/kind/message objects."""
        repo = _repo(tmp_path, ROADMAP + "```\nunclosed\n")
        assert main(["roadmap", "check", "--json", "--repo", str(repo)]) == 1
        warnings = json.loads(capsys.readouterr().out)
        assert warnings[0]["kind"] == "unclosed_fence" and {"line", "kind", "message"} <= set(warnings[0])

    def test_check_real_head_file(self, roadmaps_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The head file has duplicate ids: check reports them and exits 1."""
        assert main(["roadmap", "check", "--roadmap", str(roadmaps_dir / "coffee_maker_head_2025-10-28.md")]) == 1
        assert "duplicate_id" in capsys.readouterr().out

    @pytest.mark.parametrize(("content", "phrase"), [
        (None, "does not exist"),
        ("DIR", "is a directory"),
        (b"# R\n\xff\xfe bad\n", "not valid UTF-8"),
        (b"\x00\x01\x02binary", "binary file"),
        ("", "is empty"),
        ("# Just notes\n\nNo priorities here.\n", "has no priorities"),
    ])
    def test_bad_input_is_one_sentence(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes | None, phrase: str
    ) -> None:
        """Each bad roadmap gives exit 2 and one clear line, and nothing is written."""
        target = tmp_path / "ROADMAP.md"
        if content == "DIR":
            target.mkdir()
        elif isinstance(content, bytes):
            target.write_bytes(content)
        elif content is not None:
            target.write_text(content)
        before = sorted(p.name for p in tmp_path.iterdir())
        for command in (["roadmap", "list"], ["roadmap", "next"], ["roadmap", "check"], ["roadmap", "show", "1"]):
            assert main([*command, "--repo", str(tmp_path), "--roadmap", str(target)]) == 2
            err = capsys.readouterr().err
            assert phrase in err and "Traceback" not in err and err.count("\n") == 1
        assert sorted(p.name for p in tmp_path.iterdir()) == before

    def test_symlinked_roadmap_is_followed(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A docs/ROADMAP.md symlink to docs/roadmap/ROADMAP.md is read."""
        (tmp_path / "docs" / "roadmap").mkdir(parents=True)
        (tmp_path / "docs" / "roadmap" / "ROADMAP.md").write_text(ROADMAP)
        (tmp_path / "docs" / "ROADMAP.md").symlink_to("roadmap/ROADMAP.md")
        assert main(["roadmap", "next", "--json", "--repo", str(tmp_path)]) == 0
        assert json.loads(capsys.readouterr().out)["next"]["id"] == "PRIORITY 2"


def test_priority_without_status_is_explained() -> None:
    """A priority with no status at all is warned about and named in the planner's reasons."""
    roadmap = parse_roadmap("## PRIORITY 1: Bare\nJust text.\n\n## PRIORITY 2: Next\n**Status**: planned\n")
    assert [(w.kind, w.line) for w in roadmap.warnings] == [("unknown_status", 1)]
    chosen, skipped = explain(roadmap)
    assert chosen is not None and chosen.id == "PRIORITY 2"
    assert skipped[0].priority.id == "PRIORITY 1" and "no status" in skipped[0].reason


class TestReadableOutput:
    SECTION = ("## PRIORITY 1: A really quite long title that describes the work in some detail for people\n"
               "**Status**: 📝 Planned\n**Dependencies**: PRIORITY 2\nSome text.\n\n"
               "## PRIORITY 2: Short\n**Status**: ✅ Complete\n")

    def test_show_prints_the_title_once_and_keeps_lines_apart(self, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
        """`roadmap show 1`: the title once; the Status line is not run into the Dependencies line."""
        assert main(["roadmap", "show", "1", "--repo", str(_repo(tmp_path, self.SECTION))]) == 0
        out = capsys.readouterr().out
        assert out.count("A really quite long title") == 1
        lines = [line.strip() for line in out.splitlines()]
        assert "Status: 📝 Planned" in lines and "Dependencies: PRIORITY 2" in lines

    def test_list_gives_the_title_the_free_width(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
        """At 80 columns with no warnings, the title gets what the other columns leave (no empty warnings column)."""
        monkeypatch.setenv("COLUMNS", "80")
        assert main(["roadmap", "list", "--repo", str(_repo(tmp_path, self.SECTION))]) == 0
        out = capsys.readouterr().out
        assert "A really quite long title that descri" in out and "warnings" not in out
        assert max(len(line) for line in out.splitlines()[1:]) <= 80


def test_long_titles_make_branch_names_cut_at_a_word() -> None:
    """A slug over 60 characters ends at a whole word, never mid-word."""
    from coffee_maker.types import Priority

    p = Priority("PRIORITY 2", "Forecast summary of the daily temperatures for every station in the network",
                 1, 1, 2, Status.PLANNED, "", None)
    assert p.slug == "priority-2-forecast-summary-of-the-daily-temperatures-for"


@pytest.mark.parametrize("command", [["retry"], ["skip"], ["roadmap", "next"], ["logs"], ["answer"], ["interactions"]])
def test_sub_command_help_opens_with_a_description(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """`coffee-maker X --help` says what X does, not just its usage; `answer`'s ID and `logs`' output are explained."""
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    description = out.split("\n\n")[1]
    assert description and not description.startswith(("positional", "options"))
    if command == ["answer"]:
        assert "as `coffee-maker pending` shows it" in out
    if command == ["logs"]:
        assert "readable text" in out


def test_counts_read_as_a_person_writes_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`roadmap check` on a one-priority roadmap says "1 priority, 0 warnings", not "1 priorities"."""
    repo = _repo(tmp_path, "# R\n\n## PRIORITY 1: Only\n\n**Status**: 📝 Planned\n")
    assert main(["roadmap", "check", "--repo", str(repo)]) == 0
    out = capsys.readouterr().out
    assert "1 priority, 0 warnings" in out and "1 priorities" not in out
