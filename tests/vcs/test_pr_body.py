"""The PR description: priority text, ticked deliverables, checks, cost, escalations."""

from __future__ import annotations

from coffee_maker.types import Priority
from coffee_maker.vcs import render_pr_body


class TestRenderPrBody:
    def test_sections(self, priority: Priority) -> None:
        """Deliverables are ticked, the test tail, cost and turns and the person's answers are shown."""
        body = render_pr_body(priority, gate_summary="1 files changed; tests passed.", test_output="ok\n3 passed",
                              cost_usd=0.1234, turns=7, session_id="s-1", decisions=["Bash(ls) → allow (rule:ls)"],
                              escalations=["Use Postgres? → yes (person:slack:ann)"])
        assert "**PRIORITY 2.5: New User Experience**" in body and "- [x] guide" in body
        assert "7 turns, $0.1234, session `s-1`" in body and "3 passed" in body
        assert "Answered by a person:" in body and "Use Postgres? → yes" in body and "rule:ls" in body
        assert "## PRIORITY 2.5: New User Experience" in body  # the roadmap section itself

    def test_no_questions(self, priority: Priority) -> None:
        """Without decisions or escalations the body says so."""
        assert "None." in render_pr_body(priority)
