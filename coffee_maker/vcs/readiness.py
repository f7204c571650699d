"""Is the repository ready for an attempt? One sentence per problem, checked before work starts.

The daemon calls these before each attempt (a problem waits, it does not use up an
attempt) and `doctor` can show the same sentences. Each returns None when all is well.
They read only: `git fetch` is the caller's business.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from coffee_maker.errors import GitError
from coffee_maker.roadmap import parse_roadmap
from coffee_maker.vcs.git import GitManager


def repository_problem(git: GitManager) -> str | None:
    """No commit yet, an origin with no branch, a default branch the remote lacks, or GitManager.preflight's.

    Reads local refs only (the last fetch's view of the remote), so it is cheap before every attempt.
    """
    try:
        git.preflight_basics()
    except GitError as exc:
        return exc.message
    remote = git.remote
    if git._sha("HEAD") is None:
        return (f"The repository {git.root} has no commits yet: commit your files (at least the roadmap and "
                f"coffee_maker.toml) and push them (`git push -u {remote} HEAD`) before the daemon can branch from them.")
    try:
        base = git.default_branch()
    except GitError as exc:
        if not _remote_branches(git):
            return (f"The remote {remote!r} has no branches yet: push your default branch first "
                    f"(`git push -u {remote} HEAD`).")
        return exc.message
    if git._sha(f"refs/remotes/{remote}/{base}") is None:
        try:
            git.fetch()
        except GitError as exc:
            return f"The remote {remote!r} cannot be read ({exc.message}); check its URL (`git remote -v`)."
        if git._sha(f"refs/remotes/{remote}/{base}") is None:
            if not _remote_branches(git):
                return (f"The remote {remote!r} has no branches yet: push your default branch first "
                        f"(`git push -u {remote} {base}`).")
            return (f"The remote {remote!r} has no branch {base!r}: push it (`git push -u {remote} {base}`) "
                    "or set [git] default_branch to one it has.")
    return None


def _remote_branches(git: GitManager) -> list[str]:
    """The remote's branches as of the last fetch (fetching once if none are known)."""
    listing = git._git("for-each-ref", "--format=%(refname)", f"refs/remotes/{git.remote}/")
    if not listing.strip():
        try:
            git.fetch()
        except GitError:
            return []
        listing = git._git("for-each-ref", "--format=%(refname)", f"refs/remotes/{git.remote}/")
    return [ref for ref in listing.split() if not ref.endswith("/HEAD")]


def roadmap_on_remote_problem(git: GitManager, roadmap_rel: str, priority_id: str | None = None) -> str | None:
    """The roadmap (and ``priority_id`` in it) must be on the remote's default branch: branches start there,
    and the pull request ticks the priority in that copy."""
    base = git.default_branch()
    where = f"{git.remote}/{base}"
    path = PurePosixPath(roadmap_rel).as_posix()
    try:
        text = git._git("show", f"refs/remotes/{where}:{path}")
    except GitError:
        return (f"{path} is not on {where}: commit and push it (`git add {path} coffee_maker.toml && "
                f"git commit -m \"docs: roadmap\" && git push`); the daemon branches from {where} and ticks the "
                "roadmap there.")
    if priority_id is not None and not parse_roadmap(text).find(priority_id):
        return (f"{priority_id} is in your {path} but not in the one on {where}: commit and push the roadmap "
                "so its pull request can tick it.")
    return None
