"""Moving a stacked branch onto a new base: ``git rebase --onto`` and a lease-guarded push (``daemon/stacking.py``).

Two moves use it: a **landing** (the parent merged: onto the default branch) and a **restack** (the parent
is still open but was itself rewritten — it landed or was restacked: onto the parent's new tip). Either way
only the branch's own commits are replayed: ``<upstream>`` is the newest commit of the parent the branch
contains (``upstream``, docs/tech_decisions/stacking.md). The push is ``--force-with-lease`` with the tip
we fetched, and a branch whose remote has commits its worktree lacks is fast-forwarded first, so a commit a
person pushed is replayed, never pushed over.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from coffee_maker import proc
from coffee_maker.errors import GitError
from coffee_maker.vcs.confine import git_in


def rebase_upstream(cut: str, shared: str | None, cut_in_shared: bool) -> str:
    """The ``<upstream>`` of ``git rebase --onto``: the newest parent commit the branch contains.

    ``cut`` is where the branch was cut; ``shared`` the merge-base of the branch and the parent's final
    head. When the branch took in later parent work (the base updater merged it in), ``shared`` is past
    ``cut`` and those commits must not be replayed either. A parent rewritten by force (``cut`` not in its
    history) leaves ``cut``: the commits after it are the dependent's own.
    """
    return shared if shared and cut_in_shared else cut


@dataclass(frozen=True)
class Move:
    """One rebase of ``branch``: onto ``onto`` (a sha; ``onto_name`` for people), its own commits after ``cut``.

    ``heads``: the parent's heads to compare with — its final or current head, and the heads it had before
    the daemon rewrote it (a branch cut from one of those contains that generation of the parent).
    """

    branch: str
    onto: str
    onto_name: str
    cut: str
    heads: Sequence[str]
    why: str  # "after PRIORITY 1 merged": the conflict's sentence


@dataclass(frozen=True)
class Moved:
    """A move done: the remote tip it replaced (None: the branch was not on the remote) and the new one."""

    old: str | None
    new: str


class Restacker:
    """The git of a move, in the branch's worktree or, when none holds it, in a scratch one."""

    def __init__(self, repo: Callable[[], Path | None], remote: Callable[[], str]) -> None:
        self._repo_of, self._remote_of = repo, remote

    def move(self, move: Move, path: Path | None) -> Moved | str:
        """Rebase and push; a conflict's reason (the rebase aborted, nothing pushed). Other failures raise."""
        if path is not None:
            if self.git(path, "status", "--porcelain").stdout.strip():
                raise GitError(f"the worktree {path} has uncommitted changes; {move.branch} is rebased once it "
                               "is clean.")
            return self._move_in(move, path)
        with tempfile.TemporaryDirectory(prefix="coffee-maker-restack-") as scratch:
            return self._move_detached(move, Path(scratch) / "wt")

    def _move_detached(self, move: Move, path: Path) -> Moved | str:
        """No worktree holds the branch (it was reused): rebase in a scratch one, then move the branch there."""
        repo, branch = self.repo(), move.branch
        remote = f"{self._remote_of()}/{branch}"
        moved_there = self.sha(repo, remote) is not None and self._moved(repo, move, remote)
        # The remote already moved (a crash between the push and the local branch's update): start from it.
        start = branch if self.sha(repo, f"refs/heads/{branch}") and not moved_there else remote
        self._ok(repo, "worktree", "prune")  # a worktree that lost its .git still holds the branch until pruned
        self._ok(repo, "worktree", "add", "--quiet", "--detach", str(path), start)
        try:
            moved = self._move_in(move, path)
            if isinstance(moved, Moved):
                self._ok(repo, "branch", "--force", branch, moved.new)
            return moved
        finally:
            self.git(repo, "worktree", "remove", "--force", str(path))

    def _move_in(self, move: Move, path: Path) -> Moved | str:
        remote, branch = self._remote_of(), move.branch
        lease = self.sha(path, f"refs/remotes/{remote}/{branch}")
        if not self._moved(path, move, "HEAD"):  # not yet moved (a crash after the rebase, before the push, lands here moved)
            if lease and not self._contains(path, lease, "HEAD"):
                self._catch_up(path, branch, lease)
            upstream = self.upstream(path, move.cut, move.heads)
            rebased = self.git(path, "rebase", "--quiet", "--onto", move.onto, upstream)
            if not rebased.ok:
                conflicted = self.git(path, "diff", "--name-only", "--diff-filter=U").stdout.split()
                self.git(path, "rebase", "--abort")
                where = f" in {', '.join(conflicted)}" if conflicted else f": {proc.tail(rebased.stderr, 3)}"
                return (f"rebasing {branch} onto {move.onto_name} {move.why} conflicts{where}; rebase it by hand "
                        f"(`git rebase --onto {move.onto_name} {upstream[:12]} {branch}`)")
        pushed = self.git(path, "push", "--quiet", *([f"--force-with-lease=refs/heads/{branch}:{lease}"] if lease
                                                    else []), remote, f"HEAD:refs/heads/{branch}")
        if not pushed.ok:
            raise GitError(f"Pushing the rebased {branch} to {remote} was rejected: {proc.tail(pushed.stderr, 3)}")
        return Moved(lease, self.git(path, "rev-parse", "HEAD").stdout.strip())

    def _moved(self, path: Path, move: Move, rev: str) -> bool:
        """``rev`` already stands on ``move.onto`` without the old generation (``move.cut``)."""
        return self._contains(path, move.onto, rev) and not self._contains(path, move.cut, rev)

    def _catch_up(self, path: Path, branch: str, lease: str) -> None:
        """The remote has commits the worktree lacks (a person's push): take them in, so the rebase replays them."""
        if not self._contains(path, "HEAD", lease):
            raise GitError(f"{branch} and its remote copy have both moved on; it is not rebased until they agree "
                           "(pull or push it by hand).")
        self._ok(path, "merge", "--quiet", "--ff-only", lease)

    def upstream(self, path: Path, cut: str, heads: Sequence[str]) -> str:
        """The newest parent commit in the branch, of any head's generation that holds the cut."""
        upstream = cut
        for head in heads:
            if not head or self.sha(path, head) is None:
                continue
            shared = self.git(path, "merge-base", "HEAD", head).stdout.strip() or None
            newer = bool(shared) and self._contains(path, upstream, shared or "")
            upstream = rebase_upstream(upstream, shared, newer)
        return upstream

    # ------------------------------------------------------------------ git

    def repo(self) -> Path:
        repo = self._repo_of()
        if repo is None:
            raise GitError("Stacked branches need the repository's path to rebase in.")
        return repo

    def _contains(self, path: Path, ancestor: str, descendant: str) -> bool:
        return self.git(path, "merge-base", "--is-ancestor", ancestor, descendant).ok

    def sha(self, cwd: Path, ref: str) -> str | None:
        found = self.git(cwd, "rev-parse", "--verify", "--quiet", ref + "^{commit}")
        return found.stdout.strip() if found.ok else None

    def _ok(self, cwd: Path, *args: str) -> None:
        result = self.git(cwd, *args)
        if not result.ok:
            raise GitError(f"`git {' '.join(args)}` failed: {proc.tail(result.stderr or result.stdout, 3)}")

    def git(self, cwd: Path, *args: str) -> proc.Completed:
        return git_in(self._repo_of(), cwd, *args)  # a worktree: git there or nowhere
