"""Landing a stacked branch (``Stacking`` in ``daemon/stacking.py``) on real git and the local forge, without
running the daemon: no worktree holding the branch, parent work merged in later, a conflict, and the parent
merging or closing before the stacked PR opens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coffee_maker.daemon.stacking import Parent
from coffee_maker.daemon.state import Phase
from coffee_maker.types import Workspace
from tests.conftest import git
from tests.daemon.stack_harness import B1, B2, P1, P2, StackedRepo, stacked_repo


class Stack(StackedRepo):
    """P1's PR open on main, P2's branch cut from P1's and stacked on it; the checkout back on main."""

    def squash_parent(self) -> None:
        self.merge(1, "squash")

    def own_commits(self) -> list[str]:
        """The trailers of the commits P2's branch adds to main."""
        return self.own("main", B2)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with stacked_repo(Stack, tmp_path, count=2, depends={2: 1}) as s:
        project, forge = s.project, s.forge
        git(project, "branch", "-q", B2, B1)
        s.commit(B2, "weather/part2.py", "VALUE = 2\n", P2)
        forge.open_or_update(branch=B2, base=B1, title="P2", body="stacked on #1")
        git(project, "fetch", "-q", "origin")
        facts = s.stacking.facts(Parent(P1, 1, B1), Workspace(project, "main", "main"))
        assert facts["stacked_tip"] == git(project, "merge-base", "HEAD", f"origin/{B1}").strip()
        facts["stacked_tip"] = git(project, "rev-parse", B1).strip()  # the checkout is on main: name the cut
        s.daemon.store.transition(P2, Phase.PR_OPEN, branch=B2, pr_number=2, extra={**facts, "base": B1})
        yield s


class TestSettle:
    def test_no_worktree_holds_the_branch(self, stack: Stack) -> None:
        """Its worktree went to another priority: the rebase runs in a scratch worktree, the local branch follows,
        the remote gets only P2's commits on main, the PR is retargeted and commented, the person told."""
        stack.squash_parent()
        state = stack.daemon.store.get(P2)
        assert state is not None
        after = stack.stacking.settle(state)
        assert after.phase is Phase.PR_OPEN and after.extra["stack"] == "landed" and after.extra["base"] == "main"
        assert stack.own_commits() == [P2]
        assert git(stack.project, "rev-parse", B2).strip() == stack.origin("rev-parse", B2)
        assert stack.origin("diff", "--name-only", f"main...{B2}").split() == ["weather/part2.py"]
        pr = stack.forge.get(2)
        assert pr.base == "main" and "rebased `" in stack.forge._load(B2)["notes"][0]["body"]  # type: ignore[index]
        assert [k for k, m in stack.person.informed if m.startswith(P2)] == ["pr_updated"]
        assert "restack" not in git(stack.project, "worktree", "list")
        again = stack.stacking.settle(after)  # landed: nothing more to do
        assert again.extra["stack"] == "landed" and len(stack.person.informed) == 1

    def test_a_worktree_that_lost_its_git_never_sends_the_rebase_to_the_persons_checkout(self, stack: Stack) -> None:
        """The branch's worktree (inside the checkout, as the daemon's are) lost its .git: git there would climb to
        the person's checkout and rebase *it*. The landing treats the branch as held by no worktree instead."""
        path = stack.project / ".coffee_maker" / "worktrees" / "p2"
        git(stack.project, "worktree", "add", "-q", str(path), B2)
        (path / ".git").unlink()
        person_head = git(stack.project, "rev-parse", "HEAD").strip()
        stack.squash_parent()
        state = stack.stacking.settle(stack.daemon.store.get(P2))  # type: ignore[arg-type]
        assert state.extra["stack"] == "landed"
        assert git(stack.project, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
        assert git(stack.project, "rev-parse", "HEAD").strip() == person_head  # the person's checkout untouched
        assert stack.own_commits() == [P2]

    def test_parent_work_merged_in_later_is_not_replayed(self, stack: Stack) -> None:
        """P1 got a review fix after P2 was cut, and P2 took it in by merging P1's branch: after the squash, P2
        still adds only its own commit."""
        stack.commit(B1, "weather/part1.py", "VALUE = 11\n", P1)
        git(stack.project, "checkout", "-q", B2)
        git(stack.project, "merge", "-q", "--no-edit", B1)
        git(stack.project, "push", "-q", "origin", B2)
        git(stack.project, "checkout", "-q", "main")
        stack.squash_parent()
        state = stack.daemon.store.get(P2)
        assert state is not None and stack.stacking.settle(state).extra["stack"] == "landed"
        assert stack.own_commits() == [P2]
        assert stack.origin("diff", "--name-only", f"main...{B2}").split() == ["weather/part2.py"]
        assert stack.origin("show", f"{B2}:weather/part1.py") == "VALUE = 11"

    def test_a_conflict_blocks_and_leaves_everything_as_it_was(self, stack: Stack) -> None:
        """P1 changed a line after P2 was cut, and P2 changed the same line: the rebase is aborted, P2 blocked
        naming the file and the command to run by hand; its branch (local and remote) and its PR untouched."""
        stack.commit(B1, "weather/shared.py", "NAME = 'parent'\n", P1)
        tip = stack.commit(B2, "weather/shared.py", "NAME = 'child'\n", P2)
        stack.squash_parent()
        state = stack.daemon.store.get(P2)
        assert state is not None
        after = stack.stacking.settle(state)
        assert after.phase is Phase.BLOCKED and after.extra["stack"] == "conflict"
        assert "conflicts in weather/shared.py" in after.reason and "git rebase --onto origin/main" in after.reason
        assert stack.origin("rev-parse", B2) == tip == git(stack.project, "rev-parse", B2).strip()
        pr = stack.forge.get(2)
        assert pr.base == B1 and pr.state.value == "open"
        assert "restack" not in git(stack.project, "worktree", "list")
        told = [m for k, m in stack.person.informed if k == "blocked"]
        assert len(told) == 1 and "coffee-maker retry" in told[0]

    def test_a_dirty_worktree_waits_and_is_told_once(self, stack: Stack) -> None:
        """Uncommitted changes in the branch's worktree: nothing is rebased, the person is told once, and the
        next poll after the worktree is clean lands it."""
        path = stack.project.parent / "wt-p2"
        git(stack.project, "worktree", "add", "-q", str(path), B2)
        (path / "weather" / "part2.py").write_text("VALUE = 'half done'\n")
        stack.squash_parent()
        for _ in range(2):
            state = stack.stacking.settle(stack.daemon.store.get(P2))  # type: ignore[arg-type]
            assert state.phase is Phase.PR_OPEN and state.extra["stack"] == "open"
        told = [m for k, m in stack.person.informed if k == "conflict"]
        assert len(told) == 1 and "uncommitted changes" in told[0]
        git(path, "checkout", "--", ".")
        state = stack.stacking.settle(stack.daemon.store.get(P2))  # type: ignore[arg-type]
        assert state.extra["stack"] == "landed" and state.extra["stack_problem"] is None
        assert git(path, "rev-parse", "HEAD").strip() == stack.origin("rev-parse", B2)
        assert stack.own_commits() == [P2]

    def test_parent_still_open_changes_nothing(self, stack: Stack) -> None:
        state = stack.daemon.store.get(P2)
        assert state is not None
        assert stack.stacking.settle(state) == stack.daemon.store.get(P2) and state.extra["stack"] == "open"
        assert stack.person.informed == []


class TestBeforeThePrOpens:
    def worktree(self, stack: Stack) -> Workspace:
        path = stack.project.parent / "wt-p2"
        git(stack.project, "worktree", "add", "-q", str(path), B2)
        stack.daemon.store.transition(P2, Phase.AGENT_RUNNING)  # review feedback: back at work on the branch
        return Workspace(path, B2, B1)

    def test_parent_merged_meanwhile(self, stack: Stack) -> None:
        """The PR is about to be updated and P1 merged meanwhile: the branch lands in its own worktree first,
        and the workspace handed back has main as its base."""
        ws = self.worktree(stack)
        stack.squash_parent()
        landed = stack.stacking.before_pr(P2, ws)
        assert landed == Workspace(ws.path, B2, "main")
        assert git(ws.path, "rev-parse", "HEAD").strip() == stack.origin("rev-parse", B2)
        assert stack.own_commits() == [P2]

    def test_parent_closed_meanwhile(self, stack: Stack) -> None:
        ws = self.worktree(stack)
        stack.forge.close(B1)
        assert stack.stacking.before_pr(P2, ws) is None
        state = stack.daemon.store.get(P2)
        assert state is not None and state.phase is Phase.BLOCKED and "closed without merge" in state.reason

    def test_parent_open_keeps_the_workspace(self, stack: Stack) -> None:
        ws = self.worktree(stack)
        assert stack.stacking.before_pr(P2, ws) is ws
