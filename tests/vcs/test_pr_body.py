"""The PR description: priority text, the agent's claimed deliverables, checks, cost, escalations."""

from __future__ import annotations

from coffee_maker.types import Priority
from coffee_maker.vcs import render_pr_body
from coffee_maker.vcs.pr_body import Receipt, render_receipt


class TestRenderPrBody:
    def test_sections(self, priority: Priority) -> None:
        """Claimed deliverables (unticked, for the reviewer), the test tail, cost and turns and the answers are shown."""
        body = render_pr_body(priority, gate_summary="1 files changed; tests passed.", test_output="ok\n3 passed",
                              cost_usd=0.1234, turns=7, session_id="s-1", decisions=["Bash(ls) → allow (rule:ls)"],
                              escalations=["Use Postgres? → yes (person:slack:ann)"], claimed=["guide"])
        assert "**PRIORITY 2.5: New User Experience**" in body and "- [ ] guide — claimed done by the agent" in body
        assert "claimed 1 of 1 done" in body and "not verified one by one" in body and "- [x]" not in body
        assert "7 turns, $0.1234, session `s-1`" in body and "3 passed" in body
        assert "Answered by a person:" in body and "Use Postgres? → yes" in body and "rule:ls" in body
        assert "## PRIORITY 2.5: New User Experience" in body  # the roadmap section itself

    def test_no_questions(self, priority: Priority) -> None:
        """Without decisions or escalations the body says so."""
        assert "None." in render_pr_body(priority)

    def test_unclaimed_deliverables_are_said_so(self, priority: Priority) -> None:
        """No claim: every deliverable is shown as not claimed, and nothing is ticked."""
        body = render_pr_body(priority)
        assert "- [ ] guide — not claimed by the agent" in body and "did not say which deliverables" in body

    def test_receipt(self, priority: Priority) -> None:
        """The receipt: cost, tokens, turns, attempts, fix rounds by kind, time waiting on people, the checks."""
        receipt = Receipt(cost_usd=0.5, tokens=12345, turns=9, attempts=2, gate_rounds=1, ci_rounds=2,
                          review_rounds=1, waited_on_people_s=42.4, checks=["tests: success", "lint: success"])
        body = render_pr_body(priority, receipt=receipt)
        for row in ("| Cost | $0.5000 |", "| Tokens | 12,345 |", "| Turns | 9 |", "| Attempts | 2 |",
                    "| Fix rounds | gate 1, CI 2, review 1 |", "| Waiting on people | 42 s |",
                    "| CI checks | tests: success, lint: success |"):
            assert row in body
        assert body.index("### Receipt") < body.index("### Checks")
        assert "### Receipt" not in render_pr_body(priority)
        assert "| CI checks | none seen yet |" in "\n".join(render_receipt(Receipt()))
