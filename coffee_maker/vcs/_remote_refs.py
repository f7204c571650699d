"""Plumbing for refs the daemon keeps on the remote: bookkeeping commits and compare-and-swap pushes.

Claims and checkpoints never touch a working tree, an index the agent uses or the
person's checkout: objects are written with `git commit-tree`, refs change only on the
remote by `git push --force-with-lease=<ref>:<expected>`, which the server checks under
its ref lock (a real compare-and-swap, not a client-side read-then-write).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from coffee_maker.errors import GitError
from coffee_maker.proc import Completed, child_env, run, tail

#: Claim and checkpoint commits are bookkeeping, not anyone's work: a fixed identity means
#: they never fail for want of `user.name`, and nobody mistakes them for a person's commit.
BOOKKEEPING_IDENTITY = {
    "GIT_AUTHOR_NAME": "coffee-maker", "GIT_AUTHOR_EMAIL": "coffee-maker@localhost",
    "GIT_COMMITTER_NAME": "coffee-maker", "GIT_COMMITTER_EMAIL": "coffee-maker@localhost",
}
#: Network calls (push, fetch) give up after this long rather than hang a lane.
NETWORK_TIMEOUT_S = 60.0

_locks: dict[Path, threading.RLock] = {}
_locks_guard = threading.Lock()


def clone_lock(repo: Path) -> threading.RLock:
    """One lock per clone: lanes of one daemon share a clone, and concurrent fetches into it fight over ref locks.

    Reentrant: the daemon's git holds it across a worktree's preparation, which fetches inside.
    """
    key = repo.resolve()
    with _locks_guard:
        return _locks.setdefault(key, threading.RLock())


def git(repo: Path, *args: str, env: Mapping[str, str] | None = None, input: str | None = None,
        timeout: float = NETWORK_TIMEOUT_S) -> Completed:
    """Run git in ``repo``; the caller judges the outcome."""
    return run(["git", *args], cwd=repo, env=child_env(dict(env or {})), input=input, timeout=timeout)


def git_ok(repo: Path, *args: str, env: Mapping[str, str] | None = None, input: str | None = None) -> str:
    """Run git and return its stdout stripped; a failure is one sentence naming the command."""
    done = git(repo, *args, env=env, input=input)
    if not done.ok:
        detail = tail(done.stderr or done.stdout, 4).strip()
        raise GitError(f"`git {' '.join(args)}` failed in {repo}: {detail or f'exit code {done.returncode}'}")
    return done.stdout.strip()


def bookkeeping_commit(repo: Path, tree: str, message: str, parents: Sequence[str] = ()) -> str:
    """A commit of ``tree`` with ``message``, written to the object store only (no ref, no checkout)."""
    args = ["commit-tree", tree]
    for parent in parents:
        args += ["-p", parent]
    return git_ok(repo, *args, env=BOOKKEEPING_IDENTITY, input=message)


def empty_tree(repo: Path) -> str:
    """The empty tree's id, written to the object store so a commit can point at it."""
    return git_ok(repo, "mktree", input="")


@dataclass(frozen=True)
class RefUpdate:
    """One ref to change on the remote: ``new`` (a sha, or "" to delete) if it still is ``expected`` ("" = absent)."""

    ref: str
    new: str
    expected: str | None = None  # None: no lease (only inside an atomic push fenced by another update)

    def refspec(self) -> str:
        return f"{'' if self.expected is not None else '+'}{self.new}:{self.ref}"


@dataclass(frozen=True)
class PushResult:
    """What the server said about one push: landed, or the reasons it gave per refused ref."""

    ok: bool
    detail: str = ""

    @property
    def lease_broken(self) -> bool:
        """The client saw the ref moved before sending ("stale info"); a server-side loss reads differently."""
        return "stale info" in self.detail


def push(repo: Path, remote: str, updates: Sequence[RefUpdate], *, atomic: bool = False) -> PushResult:
    """Push ``updates`` with their leases; with ``atomic`` all land or none does.

    A refusal is not classified here: "the race was lost" and "the server refuses this
    namespace" can both read "[remote rejected]" (a lease checked under the server's
    ref lock fails as "failed to update ref"), so the caller looks at the ref afterwards.
    """
    # Bookkeeping pushes ignore the person's push settings: no hooks, tags, submodules or signing.
    args = ["push", "--porcelain", "--no-verify", "--no-follow-tags", "--recurse-submodules=no", "--no-signed"]
    if atomic:
        args.append("--atomic")
    args += [f"--force-with-lease={u.ref}:{u.expected}" for u in updates if u.expected is not None]
    args += [remote, *(u.refspec() for u in updates)]
    done = git(repo, *args)
    verdicts = [line for line in done.stdout.splitlines() if line[:1] in "!*+- =" and "\t" in line]
    rejected = [line.split("\t")[-1] for line in verdicts if line.startswith("!")]
    if done.ok and not rejected:
        return PushResult(True)
    if not rejected:  # no verdict per ref: the push never got that far (network, auth, no such remote)
        detail = tail(done.stderr or done.stdout, 4).strip() or f"exit code {done.returncode}"
        raise GitError(f"Could not push to the remote {remote!r}: {detail}")
    return PushResult(False, "; ".join(rejected))


def remote_refs(repo: Path, remote: str, pattern: str) -> dict[str, str]:
    """``{ref: sha}`` on the remote for refs matching ``pattern`` (one `git ls-remote`)."""
    done = git(repo, "ls-remote", remote, pattern)
    if not done.ok:
        detail = tail(done.stderr or done.stdout, 4).strip() or f"exit code {done.returncode}"
        raise GitError(f"Could not read refs from the remote {remote!r}: {detail}")
    refs: dict[str, str] = {}
    for line in done.stdout.splitlines():
        sha, _, ref = line.partition("\t")
        if ref:
            refs[ref] = sha
    return refs
