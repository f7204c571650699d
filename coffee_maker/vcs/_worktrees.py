"""Reusing the daemon's worktrees: a new priority takes a finished one instead of a full checkout.

Why: `git worktree add` checks out every file (~1.5 s for 5,000 files), while switching an
existing worktree rewrites only the files that differ. A worktree is reused only when nothing
can be lost: it is clean and its branch tip is on the remote, or it was parked by a rollback
(docs/tech_decisions/workspace.md).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Protocol

import structlog

from coffee_maker.errors import GitError

log = structlog.get_logger(__name__)

#: A worktree parked by a rollback, detached, for the next priority.
SPARE = ".spare"


class GitRunner(Protocol):
    def __call__(self, *args: str, cwd: Path | None = None) -> str: ...


def add_args(start: list[str], path: Path) -> list[str]:
    """`checkout` arguments turned into `worktree add` ones (options, the path, then the commit)."""
    if len(start) == 1:
        return [str(path), start[0]]
    *options, commit = start
    return [*options, str(path), commit]


def is_reusable(git: GitRunner, candidate: Path, remote: str) -> bool:
    """Nothing can be lost by switching it: clean, and detached or its branch's tip on the remote."""
    try:
        if git("status", "--porcelain", "--untracked-files=all", cwd=candidate):
            return False
        head = git("rev-parse", "--abbrev-ref", "HEAD", cwd=candidate)
        return head == "HEAD" or git("rev-parse", "HEAD", cwd=candidate) == git(
            "rev-parse", "--verify", "--quiet", f"refs/remotes/{remote}/{head}")
    except GitError:
        return False


def reusable_worktree(git: GitRunner, worktrees: Path, remote: str, busy: Collection[str] = ()) -> Path | None:
    """The parked worktree, or a finished one: clean, and its branch's tip on the remote.

    ``busy``: names of worktrees an attempt is using now (another lane): never taken, however clean —
    a lane that has just switched onto a branch already pushed looks exactly like a finished one.
    """
    if not worktrees.is_dir():
        return None
    spare = worktrees / SPARE
    candidates = [spare] if (spare / ".git").exists() else []
    candidates += sorted(p for p in worktrees.iterdir()
                         if p.name != SPARE and p.name not in busy and (p / ".git").exists())
    return next((c for c in candidates[:3] if is_reusable(git, c, remote)), None)


def reuse_worktree(git: GitRunner, worktrees: Path, remote: str, start: list[str], path: Path,
                   busy: Collection[str] = ()) -> bool:
    """Move a reusable worktree to ``path`` and switch it with ``git checkout *start``.

    False, with nothing left behind, when there is none or it cannot be moved or switched.
    """
    reusable = reusable_worktree(git, worktrees, remote, busy)
    if reusable is None:
        return False
    try:
        git("worktree", "move", str(reusable), str(path))  # refused e.g. with submodules
    except GitError as exc:
        log.info("worktree not reusable; adding a new one", path=str(reusable), reason=exc.message)
        return False
    try:
        git("checkout", "--quiet", *start, cwd=path)
    except GitError as exc:  # it was clean and its work is pushed: removing it loses nothing
        log.info("reused worktree could not switch; adding a new one", reason=exc.message)
        git("worktree", "remove", "--force", str(path))
        return False
    return True
