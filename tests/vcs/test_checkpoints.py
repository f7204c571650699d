"""Checkpoints: work in progress pushed from one machine's worktree and continued on another's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from coffee_maker.vcs.checkpoints import (
    push_checkpoint,
    read_checkpoint,
    restore_checkpoint,
    snapshot,
)
from coffee_maker.vcs.claims import ClaimLostError, ClaimStore
from tests.conftest import git
from tests.vcs.remote_machines import LEASE_S, MARGIN_S, Clock, remote_sha

BRANCH = "coffee-maker/p1"
WIP = "refs/coffee-maker/wip/p1"


def files_of(tree: Path) -> dict[str, tuple[bytes, bool]]:
    """Every file under ``tree`` except .git: its bytes and whether it is executable."""
    return {p.relative_to(tree).as_posix(): (p.read_bytes(), bool(p.stat().st_mode & 0o100))
            for p in sorted(tree.rglob("*")) if p.is_file() and ".git" not in p.relative_to(tree).parts}


@pytest.fixture
def pr_branch(shared_origin: Path) -> str:
    """The priority's PR branch, pushed once with one commit on top of main."""
    seed = shared_origin.parent / "seed"
    git(seed, "checkout", "-q", "-b", BRANCH)
    (seed / "tracked.txt").write_text("one\ntwo\n")
    (seed / "doomed.txt").write_text("to be deleted\n")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "feat: start")
    git(seed, "push", "-q", "origin", BRANCH)
    return remote_sha(shared_origin, f"refs/heads/{BRANCH}")


def worktree_of(store: ClaimStore, name: str) -> Path:
    """A fresh worktree of the store's clone on the PR branch, as the daemon makes one per priority."""
    path = store.repo.parent / name
    git(store.repo, "fetch", "-q", "origin")
    git(store.repo, "worktree", "add", "-q", "-B", BRANCH, str(path), f"origin/{BRANCH}")
    return path


def dirty(worktree: Path) -> None:
    """Work in progress of every kind: a modified, a staged, a new, a deleted, a binary and an executable file."""
    (worktree / "tracked.txt").write_text("one\ntwo, edited\n")
    (worktree / "staged.txt").write_text("staged\n")
    git(worktree, "add", "staged.txt")
    (worktree / "src").mkdir()
    (worktree / "src" / "new.py").write_text("print('new')\r\n")
    (worktree / "blob.bin").write_bytes(bytes(range(256)) * 4)
    tool = worktree / "run.sh"
    tool.write_text("#!/bin/sh\necho hi\n")
    tool.chmod(0o755)
    (worktree / "doomed.txt").unlink()
    (worktree / ".gitignore").write_text("*.log\n")
    (worktree / "noise.log").write_text("ignored\n")


def heir_worktree(dead: ClaimStore, heir: ClaimStore, clock: Clock) -> Path:
    """The dead machine's lease runs out; the heir takes its claim over and makes its own fresh worktree."""
    clock.now += LEASE_S + MARGIN_S + 1
    expired = dead.read("p1")
    assert expired is not None
    heir.take_over(expired)
    return worktree_of(heir, "wt-heir")


class TestCheckpoints:
    def test_a_checkpoint_from_one_machine_is_restored_byte_for_byte_on_another(
            self, machine: Callable[..., ClaimStore], shared_origin: Path, pr_branch: str) -> None:
        """The dead machine's worktree, files and modes, reappears on the machine that took over."""
        clock = Clock()
        dead, heir = machine(clock=clock), machine(clock=clock)
        claim = dead.acquire("PRIORITY 1", "p1")
        work = worktree_of(dead, "wt-dead")
        (work / "committed.txt").write_text("committed but not pushed\n")
        git(work, "add", "committed.txt")
        git(work, "commit", "-q", "-m", "wip: local commit")
        dirty(work)
        claim, checkpoint = push_checkpoint(dead, work, claim)
        expected = {k: v for k, v in files_of(work).items() if k != "noise.log"}

        fresh = heir_worktree(dead, heir, clock)
        restored = restore_checkpoint(heir, fresh, "p1")

        assert restored == checkpoint
        assert files_of(fresh) == expected
        assert "noise.log" not in files_of(fresh)
        assert git(fresh, "log", "-1", "--format=%s").strip() == "wip: local commit"
        assert git(fresh, "diff", "--cached", "--name-only").strip() == ""  # restored work is not staged
        assert remote_sha(shared_origin, f"refs/heads/{BRANCH}") == pr_branch  # the PR branch was never pushed to

    def test_a_checkpoint_leaves_the_agents_index_and_files_alone(
            self, machine: Callable[..., ClaimStore], shared_origin: Path, pr_branch: str) -> None:
        """Snapshotting writes no file, stages nothing, moves no ref in the worktree."""
        store = machine()
        claim = store.acquire("P", "p1")
        work = worktree_of(store, "wt")
        dirty(work)
        index = Path(git(work, "rev-parse", "--path-format=absolute", "--git-path", "index").strip())
        before = (index.read_bytes(), git(work, "status", "--porcelain"), files_of(work),
                  git(work, "rev-parse", "HEAD"), git(store.repo, "for-each-ref"))
        renewed, checkpoint = push_checkpoint(store, work, claim)
        after = (index.read_bytes(), git(work, "status", "--porcelain"), files_of(work),
                 git(work, "rev-parse", "HEAD"), git(store.repo, "for-each-ref"))
        assert after == before
        assert renewed.sequence == claim.sequence + 1
        assert remote_sha(shared_origin, WIP) == checkpoint.sha
        assert remote_sha(shared_origin, "refs/coffee-maker/claims/p1") == renewed.sha
        assert remote_sha(shared_origin, f"refs/heads/{BRANCH}") == pr_branch

    def test_a_stale_owner_cannot_push_a_checkpoint(
            self, machine: Callable[..., ClaimStore], shared_origin: Path, pr_branch: str) -> None:
        """The checkpoint push renews the claim atomically, so a lost claim pushes nothing."""
        clock = Clock()
        old, new = machine(clock=clock), machine(clock=clock)
        stale = old.acquire("P", "p1")
        work = worktree_of(old, "wt-old")
        dirty(work)
        clock.now += LEASE_S + MARGIN_S + 1
        taken = new.acquire("P", "p1")
        theirs = worktree_of(new, "wt-new")
        (theirs / "tracked.txt").write_text("the new owner's work\n")
        taken, mine = push_checkpoint(new, theirs, taken)
        with pytest.raises(ClaimLostError):
            push_checkpoint(old, work, stale)
        assert remote_sha(shared_origin, WIP) == mine.sha
        assert remote_sha(shared_origin, "refs/coffee-maker/claims/p1") == taken.sha

    def test_no_checkpoint_restores_nothing_and_release_drops_it(
            self, machine: Callable[..., ClaimStore], shared_origin: Path, pr_branch: str) -> None:
        """Without a checkpoint restore says None; releasing a claim deletes its checkpoint with it."""
        store = machine()
        claim = store.acquire("P", "p1")
        work = worktree_of(store, "wt")
        assert restore_checkpoint(store, work, "p1") is None
        assert read_checkpoint(store, "p1") is None
        (work / "tracked.txt").write_text("edited\n")
        claim, _ = push_checkpoint(store, work, claim)
        store.release(claim)
        assert remote_sha(shared_origin, WIP) == ""
        assert remote_sha(shared_origin, "refs/coffee-maker/claims/p1") == ""

    def test_restoring_into_a_dirty_worktree_is_refused(
            self, machine: Callable[..., ClaimStore], pr_branch: str) -> None:
        """A worktree with changes is never overwritten by a restore."""
        store = machine()
        work = worktree_of(store, "wt")
        (work / "tracked.txt").write_text("mine\n")
        with pytest.raises(Exception, match="restore a checkpoint only into a clean one"):
            restore_checkpoint(store, work, "p1")
        assert (work / "tracked.txt").read_text() == "mine\n"

    def test_a_clean_worktree_snapshots_to_its_head_tree(
            self, machine: Callable[..., ClaimStore], pr_branch: str) -> None:
        """Nothing in progress: the checkpoint's files are HEAD's."""
        store = machine()
        work = worktree_of(store, "wt")
        made = snapshot(work, "checkpoint\n")
        assert git(work, "rev-parse", f"{made.sha}^{{tree}}") == git(work, "rev-parse", "HEAD^{tree}")

    def test_work_that_looks_like_a_secret_is_never_pushed(
            self, machine: Callable[..., ClaimStore], shared_origin: Path, pr_branch: str) -> None:
        """A key in the work in progress: the claim is renewed, no checkpoint leaves the machine."""
        store = machine()
        claim = store.acquire("P", "p1")
        work = worktree_of(store, "wt")
        (work / "tracked.txt").write_text("clean work\n")
        claim, first = push_checkpoint(store, work, claim)
        assert first is not None
        (work / "settings.py").write_text('GITHUB_TOKEN = "ghp_' + "a1B2" * 9 + '"\n')
        renewed, second = push_checkpoint(store, work, claim)
        assert second is None
        assert renewed.sequence == claim.sequence + 1  # still ours
        assert remote_sha(shared_origin, WIP) == first.sha  # the last clean checkpoint stays
        (work / "settings.py").unlink()
        (work / ".env").write_text("SOMETHING=1\n")  # a .env file is a secret by its name alone
        _, third = push_checkpoint(store, work, renewed)
        assert third is None and remote_sha(shared_origin, WIP) == first.sha

    def test_a_restore_never_moves_a_branch_back(
            self, machine: Callable[..., ClaimStore], shared_origin: Path, pr_branch: str) -> None:
        """The PR branch went on after the checkpoint (its work was pushed): the newer work is kept."""
        clock = Clock()
        dead, heir = machine(clock=clock), machine(clock=clock)
        claim = dead.acquire("P", "p1")
        work = worktree_of(dead, "wt-dead")
        (work / "tracked.txt").write_text("in progress\n")
        claim, _ = push_checkpoint(dead, work, claim)
        git(work, "commit", "-qam", "feat: finished")
        git(work, "push", "-q", "origin", f"HEAD:{BRANCH}")
        fresh = heir_worktree(dead, heir, clock)
        head = git(fresh, "rev-parse", "HEAD")
        assert restore_checkpoint(heir, fresh, "p1") is None
        assert git(fresh, "rev-parse", "HEAD") == head and not git(fresh, "status", "--porcelain")
