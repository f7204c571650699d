"""The stacking decisions (``daemon/stacking.py``'s pure functions) and the planner's ``Held.stackable``."""

from __future__ import annotations

from typing import Any

from coffee_maker.daemon.stacking import (
    Parent,
    body_note,
    can_carry,
    is_stacked,
    next_step,
    open_parent_step,
    orphan_reason,
    parent_for,
    rebase_upstream,
    stack_below,
    stackable,
    waits_reason,
)
from coffee_maker.daemon.state import Phase, PriorityState
from coffee_maker.roadmap import Held, explain, parse_roadmap
from coffee_maker.types import PRState, PullRequest

ROADMAP = """# R

## PRIORITY 1: One
**Status**: 📝 Planned

## PRIORITY 2: Two
**Status**: 📝 Planned
**Dependencies**: PRIORITY 1

## PRIORITY 3: Three
**Status**: 📝 Planned
**Dependencies**: PRIORITY 1, PRIORITY 2
"""
STACK = {"stack": "open", "stacked_on": "PRIORITY 1", "stacked_pr": 7, "stacked_branch": "cm/p1", "stacked_tip": "a" * 40}


def state(pid: str, phase: Phase = Phase.PR_OPEN, *, pr: int | None = 7, branch: str | None = "cm/p1",
          **extra: Any) -> PriorityState:
    return PriorityState(pid, phase, attempt=1, branch=branch, pr_number=pr, extra=dict(extra))


def pull(state_: PRState, number: int = 7) -> PullRequest:
    return PullRequest(number=number, url="u", branch="cm/p1", base="main", title="t", state=state_)


PRIORITIES = {p.id: p for p in parse_roadmap(ROADMAP).priorities}


class TestCarriers:
    def test_an_open_pr_carries(self) -> None:
        """A priority in review, with its PR number and branch, may carry a dependent."""
        assert can_carry(state("PRIORITY 1"))

    def test_the_agent_on_review_feedback_still_carries(self) -> None:
        """Its PR stays open while the agent addresses a review: a dependent may still stack on it."""
        assert can_carry(state("PRIORITY 1", Phase.AGENT_RUNNING))

    def test_no_pr_or_no_branch_or_finished_does_not(self) -> None:
        """Before the PR exists, without a branch, or once merged or blocked: nothing to stack on."""
        assert not can_carry(state("PRIORITY 1", pr=None))
        assert not can_carry(state("PRIORITY 1", branch=None))
        for phase in (Phase.DONE, Phase.MERGED, Phase.BLOCKED, Phase.PLANNED, Phase.RETRY):
            assert not can_carry(state("PRIORITY 1", phase)), phase

    def test_a_stacked_pr_carries_too(self) -> None:
        """Chains of any depth: a stacked PR (its own parent open, or landed) carries a dependent of its own; one
        blocked by stacking is not in review, so it does not."""
        assert can_carry(state("PRIORITY 2", **STACK))
        assert can_carry(state("PRIORITY 2", **{**STACK, "stack": "landed"}))
        assert not can_carry(state("PRIORITY 2", Phase.BLOCKED, **{**STACK, "stack": "conflict"}))

    def test_stackable_lists_the_carriers(self) -> None:
        assert stackable([state("PRIORITY 1"), state("PRIORITY 2", Phase.DONE), state("PRIORITY 4", pr=None)]) == \
            frozenset({"PRIORITY 1"})

    def test_is_stacked_only_while_open(self) -> None:
        """Landed, orphaned or never stacked: not stacked."""
        assert is_stacked(state("PRIORITY 2", **STACK))
        for after in ("landed", "orphaned", "conflict"):
            assert not is_stacked(state("PRIORITY 2", **{**STACK, "stack": after}))
        assert not is_stacked(state("PRIORITY 2")) and not is_stacked(None)


class TestParent:
    def test_the_one_open_dependency_is_the_parent(self) -> None:
        """PRIORITY 2 depends on PRIORITY 1, whose PR is open: stacked on it, with its PR number and branch."""
        assert parent_for(PRIORITIES["PRIORITY 2"], [state("PRIORITY 1")]) == Parent("PRIORITY 1", 7, "cm/p1")

    def test_two_open_dependencies_give_no_parent(self) -> None:
        """A branch is cut from one parent, not two."""
        states = [state("PRIORITY 1"), state("PRIORITY 2", pr=8, branch="cm/p2")]
        assert parent_for(PRIORITIES["PRIORITY 3"], states) is None

    def test_a_merged_dependency_is_no_parent(self) -> None:
        """Dependencies already merged: the branch starts from the default branch, as without stacking."""
        assert parent_for(PRIORITIES["PRIORITY 2"], [state("PRIORITY 1", Phase.DONE)]) is None
        assert parent_for(PRIORITIES["PRIORITY 1"], [state("PRIORITY 2")]) is None  # not a dependency

    def test_one_open_beside_a_merged_one_is_the_parent(self) -> None:
        states = [state("PRIORITY 1", Phase.DONE), state("PRIORITY 2", pr=8, branch="cm/p2")]
        assert parent_for(PRIORITIES["PRIORITY 3"], states) == Parent("PRIORITY 2", 8, "cm/p2")


class TestLanding:
    def test_what_the_parent_pr_means(self) -> None:
        """Merged (any method): land; closed unmerged: orphaned; open: wait."""
        assert next_step(pull(PRState.MERGED)) == "land"
        assert next_step(pull(PRState.CLOSED)) == "orphan"
        assert next_step(pull(PRState.OPEN)) == "wait"

    def test_upstream_is_the_cut_unless_later_parent_work_came_in(self) -> None:
        """The base updater merged newer parent work into the branch: its newest shared commit is the upstream;
        a parent rewritten by force (the cut is not in its history) or none to compare with: the cut."""
        assert rebase_upstream("cut", "shared", True) == "shared"
        assert rebase_upstream("cut", "shared", False) == "cut"
        assert rebase_upstream("cut", None, False) == "cut"

    def test_what_an_open_parent_means(self) -> None:
        """The parent's PR is open: its branch rewritten (landed or restacked) → restack onto its new tip; blocked
        by stacking (closed parent, a conflict, or waiting itself) → its dependent waits; else nothing."""
        assert open_parent_step(state("PRIORITY 2", **STACK), rewritten=False) == "wait"
        assert open_parent_step(state("PRIORITY 2", **STACK), rewritten=True) == "restack"
        assert open_parent_step(None, rewritten=True) == "restack"  # another daemon's row: git alone tells
        for stuck in ("orphaned", "conflict", "waits"):
            blocked = state("PRIORITY 2", Phase.BLOCKED, **{**STACK, "stack": stuck})
            assert open_parent_step(blocked, rewritten=True) == "hold", stuck
        ci_blocked = state("PRIORITY 2", Phase.BLOCKED, **STACK)  # blocked for CI: its PR may still merge
        assert open_parent_step(ci_blocked, rewritten=False) == "wait"

    def test_the_waiting_reason_carries_the_root_cause(self) -> None:
        """Down a chain, each dependent names its parent and the cause at the root, not a nest of reasons."""
        parent = PriorityState("PRIORITY 2", Phase.BLOCKED, attempt=1, branch="cm/p2", reason="a long one",
                               extra={**STACK, "stack": "waits", "stack_cause": "PRIORITY 1's PR #7 was closed"})
        child = state("PRIORITY 3", branch="cm/p3", **{**STACK, "stacked_on": "PRIORITY 2", "stacked_pr": 8})
        assert waits_reason(child, parent) == (
            "waits for PRIORITY 2, which is blocked (PRIORITY 1's PR #7 was closed); it is stacked on its PR #8, "
            "and its branch cm/p3 and its PR stay as they are")

    def test_the_pr_body_says_stacked_on(self) -> None:
        note = body_note(state("PRIORITY 2", **STACK))
        assert note.startswith("This pull request is stacked on #7 (PRIORITY 1, branch `cm/p1`)")
        assert "Merge #7 first" in note and note.endswith("\n\n")

    def test_a_chain_lists_every_pr_under_it_in_merge_order(self) -> None:
        """3 on 2 on 1, each stacked: 3's body names 2 and 1 and says to merge 1, then 2; a landed parent ends
        the chain, and a parent gone from the state table too."""
        p1 = state("PRIORITY 1", pr=5, branch="cm/p1")
        p2 = state("PRIORITY 2", pr=7, branch="cm/p2", **{**STACK, "stacked_pr": 5})
        p3 = state("PRIORITY 3", pr=8, branch="cm/p3",
                   **{**STACK, "stacked_on": "PRIORITY 2", "stacked_pr": 7, "stacked_branch": "cm/p2"})
        rows = {s.priority: s for s in (p1, p2, p3)}
        below = stack_below(p3, rows.get)
        assert [s.priority for s in below] == ["PRIORITY 2", "PRIORITY 1"]
        note = body_note(p3, below)
        assert note.startswith("This pull request is stacked on #7 (PRIORITY 2, branch `cm/p2`), which stands on "
                               "#5 (PRIORITY 1)")
        assert "Merge them in order — #5, then #7 — and this one last" in note and note.endswith("\n\n")
        landed = {**rows, "PRIORITY 2": state("PRIORITY 2", pr=7, branch="cm/p2", **{**STACK, "stack": "landed"})}
        assert [s.priority for s in stack_below(p3, landed.get)] == ["PRIORITY 2"]
        assert "Merge #7 first" in body_note(p3, stack_below(p3, landed.get))
        assert stack_below(p3, {}.get) == [] and stack_below(p1, rows.get) == []

    def test_the_orphan_reason_names_the_parent_and_keeps_the_work(self) -> None:
        reason = orphan_reason(state("PRIORITY 2", branch="cm/p2", **STACK), pull(PRState.CLOSED))
        assert reason == ("it is stacked on PRIORITY 1, whose PR #7 was closed without merge; its branch cm/p2 and "
                          "its PR stay as they are")


class TestPlanner:
    roadmap = parse_roadmap(ROADMAP)

    def test_without_stacking_the_dependent_waits(self) -> None:
        chosen, skipped = explain(self.roadmap, Held(in_review=frozenset({"PRIORITY 1"})))
        assert chosen is None
        assert [s.reason for s in skipped if s.priority.id == "PRIORITY 2"] == ["waits for PRIORITY 1 (in review)"]

    def test_a_stackable_dependency_counts_as_met(self) -> None:
        held = Held(in_review=frozenset({"PRIORITY 1"}), stackable=frozenset({"PRIORITY 1"}))
        chosen, _ = explain(self.roadmap, held)
        assert chosen is not None and chosen.id == "PRIORITY 2"

    def test_only_when_it_is_the_only_dependency_left(self) -> None:
        """PRIORITY 3 needs 1 and 2, both open: it cannot stack on both, so it waits for both."""
        held = Held(in_review=frozenset({"PRIORITY 1", "PRIORITY 2"}),
                    stackable=frozenset({"PRIORITY 1", "PRIORITY 2"}))
        chosen, skipped = explain(self.roadmap, held)
        assert chosen is None
        assert [s.reason for s in skipped if s.priority.id == "PRIORITY 3"] == \
            ["waits for PRIORITY 1 (in review), PRIORITY 2 (in review)"]
