"""Restacking a chain (``Stacking`` and ``daemon/restack.py``) on real git and the local forge, without running the
daemon: P3 stacked on P2 stacked on P1, each PR open. P1 merging rewrites P2's branch; P3 must follow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coffee_maker.daemon.stacking import Parent
from coffee_maker.daemon.state import Phase, PriorityState
from coffee_maker.types import Workspace
from tests.conftest import git
from tests.daemon.stack_harness import B1, B2, B3, P1, P2, P3, Method, StackedRepo, stacked_repo


class Chain(StackedRepo):
    """P3 stacked on P2 stacked on P1, each PR open; the checkout on main."""

    def stack_on(self, pid: str, branch: str, parent: Parent, number: int) -> None:
        self.forge.open_or_update(branch=branch, base=parent.branch, title=pid, body="stacked")
        git(self.project, "fetch", "-q", "origin")
        facts = {**self.stacking.facts(parent, Workspace(self.project, "main", "main")),
                 "stacked_tip": self.tip(parent.branch)}  # the checkout is on main: name the cut
        self.daemon.store.transition(pid, Phase.PR_OPEN, branch=branch, pr_number=number,
                                     extra={**facts, "base": parent.branch})

    def settle(self, pid: str) -> PriorityState:
        state = self.daemon.store.get(pid)
        assert state is not None
        return self.stacking.settle(state)

    def files(self, base: str, branch: str) -> list[str]:
        return self.origin("diff", "--name-only", f"{base}...{branch}").split()


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    with stacked_repo(Chain, tmp_path, count=3, depends={2: 1, 3: 2}) as c:
        git(c.project, "branch", "-q", B2, B1)
        c.commit(B2, "weather/part2.py", "VALUE = 2\n", P2)
        c.stack_on(P2, B2, Parent(P1, 1, B1), 2)
        git(c.project, "branch", "-q", B3, B2)
        c.commit(B3, "weather/part3.py", "VALUE = 3\n", P3)
        c.stack_on(P3, B3, Parent(P2, 2, B2), 3)
        yield c


class TestRestack:
    @pytest.mark.parametrize("method", ["squash", "merge", "rebase"])
    def test_the_grandchild_follows_its_rewritten_parent(self, chain: Chain, method: Method) -> None:
        """P1 merged (any method): P2 lands on main; P3 is moved onto P2's new tip, only its own commit replayed, its
        PR still on P2's branch (commented), its new base recorded; the next poll has nothing more to do. (main
        moved on meanwhile, so even a rebase merge rewrites P1's commits.)"""
        chain.commit("main", "weather/other.py", "OTHER = 0\n", "none")
        old2 = chain.origin("rev-parse", B2)
        chain.merge(1, method)
        assert chain.settle(P2).extra["stack"] == "landed"
        after = chain.settle(P3)
        new2 = chain.origin("rev-parse", B2)
        assert after.phase is Phase.PR_OPEN and after.extra["stack"] == "open"
        assert after.extra["stacked_tip"] == new2 != old2
        assert chain.origin("merge-base", "--is-ancestor", new2, B3) == "" and chain.own(B2, B3) == [P3]
        assert chain.files(B2, B3) == ["weather/part3.py"] and chain.own("main", B2) == [P2]
        assert chain.daemon.store.get(P2).extra["stack_heads"] == [old2]  # type: ignore[union-attr]
        assert chain.tip(B3) == chain.origin("rev-parse", B3)  # the local branch follows (no worktree held it)
        assert chain.forge.get(3).base == B2 and "moved `" in chain.forge._load(B3)["notes"][0]["body"]  # type: ignore[index]
        assert [m for k, m in chain.person.informed if k == "pr_updated" and m.startswith(P3)]
        moved, told = chain.origin("rev-parse", B3), len(chain.person.informed)
        again = chain.settle(P3)  # moved already: nothing more to do
        assert again.extra["stacked_tip"] == new2 and chain.origin("rev-parse", B3) == moved
        assert len(chain.person.informed) == told

    def test_a_crash_between_the_push_and_the_local_branch(self, chain: Chain) -> None:
        """The restack reached the remote but the daemon stopped before the local branch and the state row followed:
        the next poll starts from the remote copy, pushes nothing new and records the move."""
        old3, before = chain.tip(B3), chain.daemon.store.get(P3)
        chain.merge(1)
        chain.settle(P2)
        chain.settle(P3)
        moved = chain.origin("rev-parse", B3)
        git(chain.project, "branch", "-f", B3, old3)
        assert before is not None
        chain.daemon.store.update(P3, extra={"stacked_tip": before.extra["stacked_tip"], "stack_heads": None})
        after = chain.settle(P3)
        assert after.extra["stacked_tip"] == chain.origin("rev-parse", B2) and not after.extra.get("stack_problem")
        assert chain.origin("rev-parse", B3) == moved == chain.tip(B3) and chain.own(B2, B3) == [P3]

    def test_repeated_rewrites_replay_only_its_own_work(self, chain: Chain) -> None:
        """After the restack, P2 gets a review fix and P3 takes it in by merging P2's branch (the base updater);
        then P2 is squash-merged: P3 lands on main with only its own commits, the fix not replayed twice."""
        chain.merge(1)
        chain.settle(P2)
        chain.settle(P3)
        chain.commit(B2, "weather/part2.py", "VALUE = 22\n", P2)
        git(chain.project, "checkout", "-q", B3)
        git(chain.project, "merge", "-q", "--no-edit", B2)
        git(chain.project, "push", "-q", "origin", B3)
        git(chain.project, "checkout", "-q", "main")
        chain.merge(2)
        landed = chain.settle(P3)
        assert landed.extra["stack"] == "landed" and chain.forge.get(3).base == "main"
        assert chain.own("main", B3) == [P3] and chain.files("main", B3) == ["weather/part3.py"]
        assert chain.origin("show", f"{B3}:weather/part2.py") == "VALUE = 22"

    def test_parent_work_taken_in_before_the_rewrite_is_not_replayed(self, chain: Chain) -> None:
        """P2 got a review fix that P3 merged in while both were open; P1 merges and P2 lands: P3's restack starts
        after the newest P2 commit it holds (P2's old tip, kept in its ``stack_heads``), so only P3's work moves."""
        chain.commit(B2, "weather/part2.py", "VALUE = 22\n", P2)
        git(chain.project, "checkout", "-q", B3)
        git(chain.project, "merge", "-q", "--no-edit", B2)
        git(chain.project, "push", "-q", "origin", B3)
        git(chain.project, "checkout", "-q", "main")
        chain.merge(1)
        chain.settle(P2)
        assert chain.settle(P3).extra["stacked_tip"] == chain.origin("rev-parse", B2)
        assert chain.own(B2, B3) == [P3] and chain.files(B2, B3) == ["weather/part3.py"]

    def test_a_parent_merged_before_the_restack(self, chain: Chain) -> None:
        """P2 lands and is merged before P3's next poll: P3, still on P2's first generation, lands on main straight
        away — the old tip P2's landing recorded tells which commits are P2's."""
        chain.merge(1)
        chain.settle(P2)
        chain.merge(2)
        assert chain.settle(P3).extra["stack"] == "landed"
        assert chain.own("main", B3) == [P3] and chain.files("main", B3) == ["weather/part3.py"]

    def test_a_persons_commit_on_the_branch_is_replayed_not_pushed_over(self, chain: Chain) -> None:
        """A person pushed a commit to P3's branch that the daemon's copy lacks: the restack takes it in first."""
        other = chain.project.parent / "person"
        git(chain.project.parent, "clone", "-q", "-b", B3, str(chain.project.parent / "origin.git"), str(other))
        (other / "weather" / "note.py").write_text("NOTE = 'mine'\n")
        git(other, "add", "weather/note.py")
        git(other, "-c", "user.name=P", "-c", "user.email=p@example.com", "commit", "-q", "-m",
            "fix: a note\n\nPriority: PRIORITY 3")
        git(other, "push", "-q", "origin", B3)
        chain.merge(1)
        chain.settle(P2)
        assert chain.settle(P3).extra["stacked_tip"] == chain.origin("rev-parse", B2)
        assert chain.origin("show", f"{B3}:weather/note.py") == "NOTE = 'mine'"
        assert sorted(chain.files(B2, B3)) == ["weather/note.py", "weather/part3.py"]

    def test_a_conflict_blocks_it_and_its_dependents_wait(self, chain: Chain) -> None:
        """P2's landing changes what P3 stands on in a line P3 changed too: P3's restack is aborted and P3 blocked
        with the file and the command; its branch and PR untouched. A P4 stacked on P3 is then blocked waiting."""
        chain.commit(B2, "weather/shared.py", "NAME = 'two'\n", P2)  # after P3 was cut, not merged into it
        tip3 = chain.commit(B3, "weather/shared.py", "NAME = 'three'\n", P3)
        chain.merge(1)
        chain.settle(P2)
        blocked = chain.settle(P3)
        assert blocked.phase is Phase.BLOCKED and blocked.extra["stack"] == "conflict"
        assert "conflicts in weather/shared.py" in blocked.reason and f"git rebase --onto origin/{B2}" in blocked.reason
        assert chain.origin("rev-parse", B3) == tip3 == chain.tip(B3) and chain.forge.get(3).base == B2
        git(chain.project, "branch", "-q", "p4", B3)
        git(chain.project, "push", "-q", "origin", "p4")
        chain.daemon.store.transition("PRIORITY 4", Phase.PR_OPEN, branch="p4", pr_number=4, extra={
            "stack": "open", "stacked_on": P3, "stacked_pr": 3, "stacked_branch": B3, "stacked_tip": tip3})
        chain.forge.open_or_update(branch="p4", base=B3, title="P4", body="stacked")
        waits = chain.settle("PRIORITY 4")
        assert waits.phase is Phase.BLOCKED and waits.extra["stack"] == "waits"
        assert waits.reason.startswith(f"waits for {P3}, which is blocked (restacking {B3} onto {B2} conflicts)")
