"""Checkpoints: the work in progress of a claimed priority, pushed so another machine can continue it.

A checkpoint is a commit of the worktree exactly as it is (tracked, staged and untracked
files, minus ignored ones) whose parent is the worktree's HEAD. It is written through a
copy of the index, so the agent's own index and staging never change, and pushed to
`<namespace>/wip/<slug>` — never to the PR branch, which only ever receives work that
passed the safety gate. The push renews the claim in the same atomic push: a daemon that
lost its claim cannot overwrite the new owner's checkpoint. Work in progress that looks like it
holds a secret is never pushed (the gate would refuse it too): the claim is renewed alone, and the
last clean checkpoint stays.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from coffee_maker.errors import GitError
from coffee_maker.secrets import added_lines, scan
from coffee_maker.vcs._remote_refs import RefUpdate, bookkeeping_commit, git, git_ok, remote_refs
from coffee_maker.vcs.claims import MIRROR, Claim, ClaimStore
from coffee_maker.vcs.confine import confined


@dataclass(frozen=True)
class Checkpoint:
    """One pushed checkpoint: ``sha`` holds the files, ``head`` the commit the work sat on."""

    slug: str
    sha: str
    head: str


def snapshot(worktree: Path, message: str) -> Checkpoint:
    """Commit the worktree's current state (through a temporary index) without changing anything in it."""
    here = confined(worktree)
    head = git_ok(worktree, "rev-parse", "--verify", "HEAD^{commit}", env=here)
    index = Path(git_ok(worktree, "rev-parse", "--path-format=absolute", "--git-path", "index", env=here))
    with tempfile.TemporaryDirectory(prefix="coffee-maker-checkpoint-") as tmp:
        scratch = {**here, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        if index.exists():
            shutil.copyfile(index, scratch["GIT_INDEX_FILE"])  # keeps the stat cache: no rehash of every file
        else:
            git_ok(worktree, "read-tree", head, env=scratch)
        git_ok(worktree, "add", "--all", "--", ".", env=scratch)
        tree = git_ok(worktree, "write-tree", env=scratch)
    sha = bookkeeping_commit(worktree, tree, message, parents=[head])
    return Checkpoint(slug="", sha=sha, head=head)


def push_checkpoint(store: ClaimStore, worktree: Path, claim: Claim, *,
                    secret_allowlist: Sequence[str] = ()) -> tuple[Claim, Checkpoint | None]:
    """Push the worktree's state to the claim's wip ref, renewing the claim in the same atomic push.

    Returns the renewed claim (keep it: the next renewal expects it) and the checkpoint — None when
    the work looked like it held a secret, so only the claim was renewed.
    ClaimLostError when the claim is no longer ours; then nothing was pushed.
    """
    made = snapshot(worktree, f"coffee-maker checkpoint of {claim.priority_id}\n\n"
                              f"Claim-Owner: {claim.owner}\nClaim-Sequence: {claim.sequence + 1}\n")
    if secret_findings(worktree, made, secret_allowlist):
        return store.renew(claim), None
    renewed = store.renew(claim, also=[RefUpdate(store.wip_ref(claim.slug), made.sha)])
    return renewed, Checkpoint(claim.slug, made.sha, made.head)


def secret_findings(worktree: Path, made: Checkpoint, allowlist: Sequence[str] = ()) -> list[str]:
    """What in the checkpoint's work (against the commit it sits on) looks like a secret, as sentences."""
    here = confined(worktree)
    diff = git_ok(worktree, "diff", "--no-color", "--no-ext-diff", "-U0", made.head, made.sha, "--", env=here)
    paths = git_ok(worktree, "diff", "--name-only", "--no-renames", "-z", made.head, made.sha, env=here)
    return [f.sentence() for f in scan(added_lines(diff), filter(None, paths.split("\0")), allowlist)]


def read_checkpoint(store: ClaimStore, slug: str) -> Checkpoint | None:
    """The last checkpoint pushed for ``slug``, fetched into this clone, or None when there is none."""
    ref = store.wip_ref(slug)
    if remote_refs(store.repo, store.remote, ref).get(ref) is None:
        return None
    done = git(store.repo, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", store.remote,
               f"+{ref}:{MIRROR}/wip/{slug}")
    if not done.ok:
        raise GitError(f"Could not fetch the checkpoint of {slug} from {store.remote!r}: "
                       f"{done.stderr.strip() or done.returncode}")
    sha = git_ok(store.repo, "rev-parse", f"{MIRROR}/wip/{slug}^{{commit}}")
    head = git_ok(store.repo, "rev-parse", f"{sha}^")
    return Checkpoint(slug, sha, head)


def restore_checkpoint(store: ClaimStore, worktree: Path, slug: str) -> Checkpoint | None:
    """Continue from the last checkpoint in a fresh ``worktree`` of this clone; None when there is none.

    The worktree's branch moves to the commit the previous owner's work sat on (its commits,
    not yet through the gate, stay local) and the files become byte for byte the
    checkpoint's, left uncommitted and unstaged as the previous owner had them. None, with
    nothing changed, when the branch is already past that commit (newer work was pushed).
    """
    here = confined(worktree)
    if git_ok(worktree, "status", "--porcelain", "--untracked-files=all", env=here):
        raise GitError(f"The worktree {worktree} has changes; restore a checkpoint only into a clean one.")
    checkpoint = read_checkpoint(store, slug)
    if checkpoint is None:
        return None
    if not git(worktree, "merge-base", "--is-ancestor", "HEAD", checkpoint.head, env=here).ok:
        return None  # the branch went on after the checkpoint (its work was pushed): never move it back
    git_ok(worktree, "reset", "--quiet", "--hard", checkpoint.head, env=here)
    with tempfile.TemporaryDirectory(prefix="coffee-maker-restore-") as tmp:
        # Files come out of a scratch index, so the worktree's index stays at HEAD and the
        # restored work shows as uncommitted changes, exactly as the previous owner left it.
        scratch = {**here, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git_ok(worktree, "read-tree", checkpoint.sha, env=scratch)
        git_ok(worktree, "checkout-index", "--all", "--force", env=scratch)
    deleted = git_ok(worktree, "diff", "--name-only", "--no-renames", "--diff-filter=D", "-z",
                     checkpoint.head, checkpoint.sha, env=here)
    for path in filter(None, deleted.split("\0")):
        (worktree / path).unlink(missing_ok=True)
    return checkpoint
