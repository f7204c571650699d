"""Claims: which daemon works on which priority, kept as refs on the shared git remote.

A claim is the ref `<namespace>/claims/<slug>` pointing at a parentless commit of the empty
tree whose message carries the owner, the priority, the lease expiry and a sequence number.
Every change is a compare-and-swap the server checks (`--force-with-lease=<ref>:<expected>`):
create expects the ref absent, renew and release expect our last value, take-over expects
the expired value. So of several claimants exactly one wins, and a claim that is not ours
and not expired is never overwritten. Why refs and why this namespace:
docs/tech_decisions/claim-refs.md.
"""

from __future__ import annotations

import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from coffee_maker.config import LoadedConfig
from coffee_maker.errors import GitError
from coffee_maker.proc import tail
from coffee_maker.vcs._remote_refs import (
    RefUpdate,
    bookkeeping_commit,
    clone_lock,
    empty_tree,
    git,
    git_ok,
    push,
    remote_refs,
)

#: Local refs mirroring the remote's claims (filled by one fetch); never pushed anywhere.
MIRROR = "refs/coffee-maker-seen"
_SLUG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
_TRAILER = re.compile(r"^Claim-(Owner|Priority|Slug|Expires|Sequence|Nonce): (.+)$", re.MULTILINE)


class ClaimHeldError(GitError):
    """Another owner holds the claim and its lease has not expired; ``holder`` says who and until when."""

    def __init__(self, message: str, holder: Claim | None) -> None:
        super().__init__(message)
        self.holder = holder


#: Pauses before fetching the claims again after a ref lock held by another process (then give up).
_REF_LOCK_RETRIES = (0.1, 0.2, 0.4, 0.8, 0.0)


class ClaimLostError(GitError):
    """Our claim was taken over or removed: stop working on the priority."""


class ClaimNamespaceError(GitError):
    """The remote refuses refs in the claim namespace: a setting or the server must change."""


@dataclass(frozen=True)
class Claim:
    """One claim as read from (or written to) the remote."""

    slug: str
    priority_id: str
    owner: str
    expires_at: float  # epoch seconds by the claimant's clock
    sequence: int  # 1 when created, +1 on each renewal and take-over
    sha: str  # the claim commit: the value the next compare-and-swap expects
    # Unique per commit: two lanes of one owner writing in the same second would otherwise make the
    # same commit, and the second push would be "up to date" — a second winner.
    nonce: str = ""
    #: Set on the claim a take-over returns (never written to the remote): whose expired claim this was,
    #: so the new owner knows to continue from that daemon's checkpoint.
    taken_from: str = ""

    def expired(self, now: float, margin_s: float) -> bool:
        """Past its expiry by more than ``margin_s`` on the reader's clock (the margin absorbs clock skew)."""
        return now > self.expires_at + margin_s

    def message(self) -> str:
        return (f"coffee-maker claim on {self.priority_id}\n\nClaim-Owner: {self.owner}\n"
                f"Claim-Priority: {self.priority_id}\nClaim-Slug: {self.slug}\n"
                f"Claim-Expires: {self.expires_at:.3f}\nClaim-Sequence: {self.sequence}\n"
                f"Claim-Nonce: {self.nonce}\n")

    @classmethod
    def parse(cls, sha: str, message: str) -> Claim | None:
        """The claim a commit message describes, or None when it is not a claim commit."""
        fields = dict(_TRAILER.findall(message))
        try:
            return cls(slug=fields["Slug"], priority_id=fields["Priority"], owner=fields["Owner"],
                       expires_at=float(fields["Expires"]), sequence=int(fields["Sequence"]), sha=sha,
                       nonce=fields.get("Nonce", ""))
        except (KeyError, ValueError):
            return None


def owner_id(state_dir: Path, *, create: bool = True) -> str:
    """This daemon's owner id: the host name and a UUID kept in the state dir (stable across restarts).

    ``create`` False (a reader such as `status`): "" when this daemon never claimed anything.
    """
    path = state_dir / "claim-owner-id"
    try:
        token = path.read_text().strip()
    except FileNotFoundError:
        token = ""
    if not token and not create:
        return ""
    if not token:
        state_dir.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(token + "\n")
        os.replace(tmp, path)
    return f"{socket.gethostname()}/{token}"


class ClaimStore:
    """Claims on one remote, made through one clone (``repo``) by one owner."""

    def __init__(self, repo: Path, *, remote: str, owner: str, namespace: str = "refs/coffee-maker",
                 lease_s: float = 300.0, margin_s: float = 30.0, clock: Callable[[], float] = time.time) -> None:
        self.repo = repo
        self.remote = remote
        self.owner = owner
        self.namespace = namespace.rstrip("/")
        self.lease_s = lease_s
        self.margin_s = margin_s
        self.clock = clock
        self._lock = clone_lock(repo)
        self._empty_tree = ""  # written once per store: one process fewer per claim commit

    @classmethod
    def from_config(cls, loaded: LoadedConfig) -> ClaimStore:
        daemon = loaded.config.daemon
        return cls(loaded.repo, remote=loaded.config.git.remote, owner=owner_id(loaded.state_dir),
                   namespace=daemon.claim_namespace, lease_s=daemon.claim_lease_s,
                   margin_s=daemon.claim_skew_margin_s)

    def ref(self, slug: str) -> str:
        return f"{self.namespace}/claims/{_checked(slug)}"

    def wip_ref(self, slug: str) -> str:
        return f"{self.namespace}/wip/{_checked(slug)}"

    def renew_due(self, claim: Claim) -> bool:
        """Time to renew: a third of the lease has passed, so two failed renewals in a row still keep it."""
        return self.clock() >= claim.expires_at - self.lease_s * 2 / 3

    # ------------------------------------------------------------------ the four changes

    def acquire(self, priority_id: str, slug: str, *, resume: bool = False) -> Claim:
        """Claim the priority: create the ref, or take over an expired claim; ClaimHeldError otherwise.

        With ``resume`` a claim already held by this owner (a restart after a crash) is adopted.
        """
        for _ in range(3):
            claim = self._next(slug, priority_id, sequence=1)
            now = self._swap(slug, claim.sha, expected="")
            if now is None:
                return claim
            current = self.read(slug, at=now)
            if current is None:
                continue  # released between our push and our read: try creating again
            if current.owner == self.owner and resume:
                return self._replace(current)
            if current.owner != self.owner and current.expired(self.clock(), self.margin_s):
                return self.take_over(current)
            raise _held(current, self.owner)
        raise ClaimHeldError(f"The claim on {slug} keeps changing hands; try again later.", None)

    def take_over(self, expired: Claim) -> Claim:
        """Take an expired claim by compare-and-swap on its value; exactly one of several takers wins."""
        if not expired.expired(self.clock(), self.margin_s):
            raise _held(expired, self.owner)
        mine = self._next(expired.slug, expired.priority_id, sequence=expired.sequence + 1)
        now = self._swap(expired.slug, mine.sha, expected=expired.sha)
        if now is None:
            return replace(mine, taken_from=expired.owner)
        raise _held(self.read(expired.slug, at=now), self.owner)

    def renew(self, claim: Claim, *, also: Sequence[RefUpdate] = ()) -> Claim:
        """Extend our lease (CAS on our last value), pushing ``also`` in the same atomic push."""
        if claim.owner != self.owner:
            raise ClaimLostError(f"The claim on {claim.slug} belongs to {claim.owner}, not to this daemon.")
        renewed = self._next(claim.slug, claim.priority_id, sequence=claim.sequence + 1)
        now = self._swap(claim.slug, renewed.sha, expected=claim.sha, also=also)
        if now is None:
            return renewed
        raise _lost(claim, self.read(claim.slug, at=now))

    def release(self, claim: Claim, *, drop_checkpoint: bool = True) -> None:
        """Delete our claim (and its checkpoint) if it is still ours; ClaimLostError if it is not."""
        also: list[RefUpdate] = []
        if drop_checkpoint:
            wip = remote_refs(self.repo, self.remote, self.wip_ref(claim.slug)).get(self.wip_ref(claim.slug))
            if wip:  # only the claim's owner writes it, so this value holds until we delete it
                also.append(RefUpdate(self.wip_ref(claim.slug), "", expected=wip))
        now = self._swap(claim.slug, "", expected=claim.sha, also=also)
        if now is not None:
            raise _lost(claim, self.read(claim.slug, at=now))

    # ------------------------------------------------------------------ reading

    def list(self) -> list[Claim]:
        """Every claim on the remote, read with one fetch of the claim namespace."""
        with self._lock:
            for wait_s in _REF_LOCK_RETRIES:
                done = git(self.repo, "fetch", "--quiet", "--no-tags", "--prune", "--no-write-fetch-head",
                           self.remote, f"+{self.namespace}/claims/*:{MIRROR}/claims/*")
                # Another process fetched into the same mirror refs at that moment (`coffee-maker status` in a
                # second shell, the web page): git refuses to move a ref it did not find as it left it.
                if done.ok or "cannot lock ref" not in done.stderr:
                    break
                time.sleep(wait_s)
            if not done.ok:
                raise GitError(f"Could not read the claims from the remote {self.remote!r}: "
                               f"{tail(done.stderr, 2).strip() or f'exit code {done.returncode}'}")
            out = git_ok(self.repo, "for-each-ref", "--format=%(objectname)%1f%(contents)%1e", f"{MIRROR}/claims/")
        claims = []
        for record in out.split("\x1e"):
            sha, _, message = record.strip("\n").partition("\x1f")
            claim = Claim.parse(sha, message) if sha else None
            if claim is not None:
                claims.append(claim)
        return sorted(claims, key=lambda c: c.slug)

    def read(self, slug: str, *, at: str | None = None) -> Claim | None:
        """The claim on ``slug`` now on the remote, or None when there is none.

        ``at``: the ref's value just seen ("" = absent), which saves one round trip.
        """
        ref = self.ref(slug)
        for _ in range(3):
            sha = remote_refs(self.repo, self.remote, ref).get(ref) if at is None else (at or None)
            at = None  # a retry reads afresh
            if sha is None:
                return None
            message = self._message(sha, ref)
            if message is not None:
                claim = Claim.parse(sha, message)
                if claim is None:
                    # Not a claim commit: never overwrite what we cannot read.
                    return Claim(slug, "?", f"something else ({sha[:12]})", float("inf"), 0, sha)
                return claim
        return None

    # ------------------------------------------------------------------ internals

    def _next(self, slug: str, priority_id: str, *, sequence: int) -> Claim:
        draft = Claim(slug, priority_id, self.owner, self.clock() + self.lease_s, sequence, "", uuid.uuid4().hex)
        if not self._empty_tree:
            self._empty_tree = empty_tree(self.repo)
        return replace(draft, sha=bookkeeping_commit(self.repo, self._empty_tree, draft.message()))

    def _replace(self, current: Claim) -> Claim:
        mine = self._next(current.slug, current.priority_id, sequence=current.sequence + 1)
        now = self._swap(current.slug, mine.sha, expected=current.sha)
        if now is None:
            return mine
        raise _held(self.read(current.slug, at=now), self.owner)

    def _message(self, sha: str, ref: str) -> str | None:
        """The commit message of ``sha``, fetching the ref when the object is not here yet."""
        with self._lock:
            if not git(self.repo, "cat-file", "-e", f"{sha}^{{commit}}").ok:
                git(self.repo, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", self.remote, ref)
            done = git(self.repo, "log", "-1", "--format=%B", sha)
        return done.stdout if done.ok else None  # None: the ref moved on before we fetched it

    def _swap(self, slug: str, new: str, *, expected: str, also: Sequence[RefUpdate] = ()) -> str | None:
        """Compare-and-swap the claim ref: None when it landed, else the value someone else put there ("" = gone).

        A refusal while the ref still holds ``expected`` was not a lost race: the server
        refuses the namespace (a hook, a hidden or protected ref) — say what to configure.
        """
        ref = self.ref(slug)
        updates = [RefUpdate(ref, new, expected), *also]
        for _ in range(2):
            with self._lock:
                result = push(self.repo, self.remote, updates, atomic=bool(also))
            if result.ok:
                return None
            now = remote_refs(self.repo, self.remote, ref).get(ref, "")
            if now != expected:
                return now
        raise ClaimNamespaceError(
            f"The remote {self.remote!r} refused {ref} ({result.detail}): allow pushes to "
            f"{self.namespace}/* on the server, or set [daemon] claim_namespace = "
            f"\"refs/heads/coffee-maker-claims\" to keep claims in branches.")


def _checked(slug: str) -> str:
    if not _SLUG.match(slug) or ".." in slug or slug.endswith(".lock"):
        raise GitError(f"{slug!r} cannot name a claim ref: use letters, digits, '.', '_' and '-'.")
    return slug


def _held(current: Claim | None, me: str) -> ClaimHeldError:
    if current is None:
        return ClaimHeldError("The claim changed hands while we tried to take it; try again.", None)
    whose = "this daemon (another lane)" if current.owner == me else current.owner
    until = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(current.expires_at)) \
        if current.expires_at != float("inf") else "someone removes it"
    return ClaimHeldError(f"{current.priority_id} ({current.slug}) is claimed by {whose} until {until}.", current)


def _lost(mine: Claim, current: Claim | None) -> ClaimLostError:
    now = "released" if current is None else f"held by {current.owner}"
    return ClaimLostError(f"The claim on {mine.priority_id} ({mine.slug}) is no longer ours (now {now}): "
                          "stop working on it.")
