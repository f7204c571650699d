"""The agent's prompt and the attempt's dev log are built from the priority and what happened."""

from __future__ import annotations

from pathlib import Path

from coffee_maker.daemon.devlog import devlog_path, render_devlog, write_devlog
from coffee_maker.daemon.prompt import build_feedback_prompt, build_prompt
from coffee_maker.daemon.record import AttemptRecord
from coffee_maker.roadmap import parse_roadmap
from coffee_maker.types import (
    Decision,
    DecisionKind,
    DecisionSource,
    OutcomeKind,
    PermissionRequest,
    Question,
    SessionOutcome,
)

TEXT = (
    "## Technology selection\n\n- Python only\n\n"
    "## PRIORITY 2.5: New User Experience\n**Status**: 📝 Planned\n- [x] done already\n- [ ] write the guide\n"
)


def _priority():  # type: ignore[no-untyped-def]
    roadmap = parse_roadmap(TEXT)
    return roadmap.priorities[0], list(roadmap.guidelines)


class TestPrompt:
    def test_prompt_has_section_guidelines_and_rules(self) -> None:
        """The prompt carries the section, open deliverables, guidelines, guidance files and the rules."""
        priority, guidelines = _priority()
        prompt = build_prompt(priority, branch="coffee-maker/p", guidelines=guidelines,
                              guidance_files=[("CLAUDE.md", "Use tabs.")], test_command="pytest -q")
        assert "# Implement PRIORITY 2.5: New User Experience" in prompt
        assert "- write the guide" in prompt and "- done already" not in prompt.split("still open")[1]
        assert "Project guideline: Technology selection" in prompt and "Python only" in prompt
        assert "Repository guidance (CLAUDE.md)" in prompt and "Use tabs." in prompt
        assert "Work only on PRIORITY 2.5" in prompt and "`pytest -q`" in prompt and "git push" in prompt
        assert "`- [x] <deliverable>` for each deliverable you completed" in prompt  # read back as its claims

    def test_a_taken_over_priority_is_continued_not_restarted(self) -> None:
        """Another daemon's checkpoint is in the worktree: the prompt says so, before any fix request."""
        priority, _ = _priority()
        plain = build_prompt(priority, branch="coffee-maker/p")
        taken = build_prompt(priority, branch="coffee-maker/p", continues_other_work=True, feedback="tests failed")
        assert "Work already in progress" not in plain
        assert "## Work already in progress" in taken and "uncommitted changes" in taken
        assert taken.index("Work already in progress") < taken.index("tests failed")

    def test_feedback_prompt(self) -> None:
        """A fix-up turn names the problem and repeats that the daemon commits."""
        priority, _ = _priority()
        text = build_feedback_prompt(priority, feedback="tests failed: 2 errors", test_command="pytest")
        assert "tests failed: 2 errors" in text and "Do not commit or push" in text


class TestDevlog:
    def test_devlog_records_attempt(self, tmp_path: Path) -> None:
        """The dev log lists goals, tool calls, gate, escalations and cost, under a dated name."""
        priority, _ = _priority()
        record = AttemptRecord(priority, 2, "coffee-maker/p")
        record.note_tool("Edit", "docs/guide.md")
        record.note_text("Wrote the guide.")
        record.note_decision(PermissionRequest("Bash", {"command": "git push"}),
                             Decision(DecisionKind.DENY, message="the daemon pushes", source=DecisionSource.rule("no-push")))
        record.note_decision(Question("Which API key?"),
                             Decision(DecisionKind.ANSWER, answer="none", source=DecisionSource.person("cli", "alice")))
        record.note_outcome(SessionOutcome(OutcomeKind.SUCCESS, session_id="s1", cost_usd=0.25, num_turns=4,
                                           final_text="Done.\n- [x] write the guide"))
        record.gate_passed, record.gate_summary, record.result = True, "tests passed", "success"
        text = render_devlog(record)
        assert "# Dev log — PRIORITY 2.5: New User Experience" in text
        assert "`Edit` docs/guide.md" in text and "Wrote the guide." in text
        assert "Bash: git push → **deny**" in text and "escalated, person:cli:alice" in text
        assert "$0.2500" in text and "Gate: passed" in text
        assert "- [ ] write the guide — claimed done by the agent" in text and "- [x] done already\n" in text
        relative = write_devlog(tmp_path, record)
        assert relative == devlog_path(record)
        assert relative.name.endswith("_priority-2-5-new-user-experience-success.md")
        assert (tmp_path / relative).read_text() == text
