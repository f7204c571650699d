"""Git in one of the daemon's worktrees runs there, or nowhere.

Why a module of its own: the worktree (vcs/git.py), the checkpoints (vcs/checkpoints.py), the
base-branch merge (daemon/pr_base.py) and the stacked landing (daemon/stacking.py) each run git
in a worktree, and all must refuse the same two ways of silently running it in the person's
checkout instead.
"""

from __future__ import annotations

from pathlib import Path

from coffee_maker import proc
from coffee_maker.environment import git_stays_in
from coffee_maker.errors import GitError


def confined(worktree: Path) -> dict[str, str]:
    """The environment for git in one of the daemon's worktrees: there, or nowhere.

    A worktree that vanished under an attempt must never send git elsewhere: GitPython runs a
    command whose directory is missing in the process's own directory (the person's checkout,
    where `coffee-maker run` was started), and git in a folder without ``.git`` (one the
    agent's next write re-created) climbs to the enclosing repository — the person's checkout
    again. Either way `git add -A && git commit` would take the person's uncommitted work.
    So the folder must exist, and git may not look above it (``GIT_CEILING_DIRECTORIES``).
    """
    path = Path(worktree)
    if not (path / ".git").exists():
        what = "is gone" if not path.exists() else "is no longer a git worktree (its .git is gone)"
        raise GitError(f"The worktree {path} {what}: it was removed while the daemon worked in it, so git was not "
                       "run there nor anywhere else. Nothing was committed.")
    return git_stays_in(path, {})


def git_in(repo: Path | None, cwd: Path, *args: str, timeout: float = 300) -> proc.Completed:
    """Run git in the clone itself (``cwd`` is ``repo``) or, confined, in one of its worktrees."""
    env = None if cwd == repo else proc.child_env(confined(cwd))
    return proc.run(["git", *args], cwd=cwd, env=env, timeout=timeout)


def worktree_of(repo: Path, branch: str) -> Path | None:
    """The worktree of ``repo`` that has ``branch`` checked out — only while it still is one (has its ``.git``)."""
    path: str | None = None
    for line in git_in(repo, repo, "worktree", "list", "--porcelain").stdout.splitlines():
        if line.startswith("worktree "):
            path = line.removeprefix("worktree ")
        elif line == f"branch refs/heads/{branch}" and path is not None:
            return Path(path) if (Path(path) / ".git").exists() else None
    return None
