"""The daemon's claims on the shared remote: one per priority it holds, from its start to a final phase.

Why here and not in the lanes: a priority in review has no lane, yet another daemon must not
start it, so the claim lives as long as the priority is this daemon's — started, in review,
retrying — and is released only in a final phase (done, blocked, skipped). The main loop
renews the claims every third of the lease (``renew``); a claim that another daemon took
(ours expired: a network cut, a long suspend) is reported through ``on_lost`` so the lane stops.
A renewal of a priority whose agent is at work pushes its work in progress beside the claim (a
checkpoint, in the same atomic push), so a machine's death loses at most a third of a lease of
work; a daemon that takes an expired claim over continues from that checkpoint (``continue_from``).
The mechanism (refs, compare-and-swap, lease) is ``vcs/claims.py``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import structlog

from coffee_maker.daemon.state import FINISHED, Phase, StateStore
from coffee_maker.errors import CoffeeMakerError, GitError
from coffee_maker.vcs.checkpoints import push_checkpoint, restore_checkpoint
from coffee_maker.vcs.claims import (
    Claim,
    ClaimHeldError,
    ClaimLostError,
    ClaimNamespaceError,
    ClaimStore,
)

log = structlog.get_logger(__name__)

#: Phases after which the priority is no daemon's any more: its claim is released.
FINAL = FINISHED | {Phase.BLOCKED, Phase.SKIPPED}


def claim_slug(pid: str) -> str:
    """The claim ref's name for a priority: its id slug (`PRIORITY 2.5` → `priority-2.5`), as in commit scopes."""
    return re.sub(r"\s+", "-", pid.lower())


class ClaimKeeper:
    """This daemon's claims. ``store`` None: claims are off (no remote, or ``[daemon] claims = false``)."""

    def __init__(self, store: ClaimStore | None, *, required: bool = False,
                 on_lost: Callable[[str], None] = lambda _pid: None, secret_allowlist: Sequence[str] = ()) -> None:
        self.store = store
        self.required = required  # `claims = true`: a remote refusing the namespace is a problem to fix
        self.on_lost = on_lost
        self.secret_allowlist = tuple(secret_allowlist)  # the gate's: what it lets through, a checkpoint may hold
        self.held: dict[str, Claim] = {}
        #: Priorities whose expired claim this daemon took over → the previous owner, until continued from.
        self.taken: dict[str, str] = {}
        self._lock = threading.Lock()
        # One change of a claim at a time: the main thread's renewal and a lane's checkpoint must not both
        # swap from the same value (the loser would think its claim lost and stop its own lane).
        self._changing = threading.RLock()
        self._refused: dict[str, str] = {}  # priority → holder last logged, so a refusal is said once

    @property
    def enabled(self) -> bool:
        return self.store is not None

    def claim(self, pid: str) -> bool:
        """Ours now (or claims are off); False when another daemon holds it or the remote cannot be reached."""
        if self.store is None:
            return True
        with self._lock:
            if pid in self.held:
                return True
        try:
            claim = self.store.acquire(pid, claim_slug(pid), resume=True)
        except ClaimHeldError as exc:
            holder = exc.holder.owner if exc.holder else "?"
            if self._refused.get(pid) != holder:
                self._refused[pid] = holder
                log.info("priority claimed by another daemon; skipping it", priority=pid, why=exc.message)
            return False
        except ClaimNamespaceError as exc:
            if self.required:
                raise
            log.warning("the remote refuses claim refs; working without claims", problem=exc.message)
            self.store = None
            return True
        except GitError as exc:
            log.warning("could not claim the priority; trying again later", priority=pid, error=exc.message)
            return False
        self._refused.pop(pid, None)
        with self._lock:
            self.held[pid] = claim
            if claim.taken_from:
                self.taken[pid] = claim.taken_from
        if claim.taken_from:
            log.info("took over an expired claim", priority=pid, previous_owner=claim.taken_from,
                     sequence=claim.sequence)
        else:
            log.info("claimed priority", priority=pid, sequence=claim.sequence)
        return True

    def give_back(self, pid: str) -> None:
        """Release a claim this daemon will not work on after all (the priority was finished elsewhere)."""
        with self._changing:
            with self._lock:
                claim = self.held.pop(pid, None)
                self.taken.pop(pid, None)
            if self.store is None or claim is None:
                return
            try:
                self.store.release(claim)  # a checkpoint beside it is a finished priority's: drop it too
            except CoffeeMakerError as exc:
                log.warning("could not give a claim back; it expires by itself", priority=pid, error=exc.message)

    def continue_from(self, pid: str, worktree: Path) -> str | None:
        """A taken-over priority: put the previous owner's last checkpoint into the fresh ``worktree``.

        Returns the previous owner when its work was restored; None when the claim was not taken
        over or that daemon pushed no checkpoint (the work starts from the branch as it is).
        """
        with self._lock:
            previous = self.taken.pop(pid, None)
        if self.store is None or previous is None:
            return None
        try:
            restored = restore_checkpoint(self.store, worktree, claim_slug(pid))
        except CoffeeMakerError as exc:  # the worktree has changes, or the fetch failed: start afresh
            log.warning("could not restore the previous owner's checkpoint", priority=pid, error=exc.message)
            return None
        if restored is None:
            return None
        log.info("continuing from the previous owner's checkpoint", priority=pid, previous_owner=previous,
                 checkpoint=restored.sha[:12])
        return previous

    def adopt(self, store: StateStore) -> None:
        """At start-up: re-claim what this daemon's state says is still its own (in review, left mid-way)."""
        if self.store is None:
            return
        for state in store.all():
            if state.phase not in FINAL and state.priority not in self.held:
                self.claim(state.priority)

    def renew(self, working: Mapping[str, Path] | None = None) -> None:
        """Renew each claim whose third of the lease has passed; a lost one is dropped and reported.

        ``working``: the worktrees of priorities whose agent is at work — their renewal pushes a checkpoint.
        """
        if self.store is None:
            return
        with self._lock:
            due = [c.priority_id for c in self.held.values() if self.store.renew_due(c)]
        for pid in due:
            worktree = (working or {}).get(pid)
            self._renew(pid, worktree if worktree is not None and (worktree / ".git").exists() else None, due=True)

    def confirm(self, pid: str) -> bool:
        """Still ours? Renewed now, before a step another daemon must never repeat (pushing the PR branch).

        False when another daemon took the claim over (reported through ``on_lost``, as a renewal would):
        on a loaded machine a renewal can come too late, and the heir is already at work on it.
        A remote that cannot be reached says nothing: the push that follows will find out.
        """
        # Not held: not claimed by this run (`run --once` works without claims), or lost before this look —
        # which ``on_lost`` reported then, and the caller remembers (``RunningAgents.lost``).
        return self._renew(pid, None, due=False)

    def checkpoint(self, pid: str, worktree: Path) -> None:
        """Push the worktree's work in progress beside the claim (renewing it), so another machine can go on."""
        self._renew(pid, worktree, due=False)

    def _renew(self, pid: str, worktree: Path | None, *, due: bool) -> bool:
        """One change of ``pid``'s claim: a checkpoint push from ``worktree`` (which renews it), else a plain renewal.

        False only when another daemon took it over; a remote that cannot be reached says nothing (the next
        renewal, or the push that follows a ``confirm``, finds out)."""
        with self._changing:
            if self.store is None or (claim := self.held.get(pid)) is None or (due and not self.store.renew_due(claim)):
                return True  # released, never held, or renewed by a lane's checkpoint meanwhile
            try:
                renewed = self._push_or_renew(self.store, claim, worktree)
            except ClaimLostError as exc:
                self._lost(pid, exc)
                return False
            except CoffeeMakerError as exc:  # the network: two more tries before the lease runs out
                log.warning("could not renew a claim; trying again", priority=pid, error=exc.message)
                return True
            with self._lock:
                self.held[pid] = renewed
            return True

    def _push_or_renew(self, store: ClaimStore, claim: Claim, worktree: Path | None) -> Claim:
        """The renewed claim; a checkpoint that cannot be made still renews it (the lease must not run out over it)."""
        if worktree is not None:
            try:
                renewed, made = push_checkpoint(store, worktree, claim, secret_allowlist=self.secret_allowlist)
            except ClaimLostError:
                raise
            except CoffeeMakerError as exc:
                log.warning("could not push a checkpoint; renewing the claim alone", priority=claim.priority_id,
                            error=exc.message)
            else:
                if made is None:
                    log.warning("work in progress looks like it holds a secret: no checkpoint pushed, the claim "
                                "renewed", priority=claim.priority_id)
                return renewed
        return store.renew(claim)

    def _lost(self, pid: str, exc: CoffeeMakerError) -> None:
        log.error("lost the claim on a priority; leaving it", priority=pid, why=exc.message)
        with self._lock:
            self.held.pop(pid, None)
        self.on_lost(pid)

    def release_finished(self, store: StateStore) -> None:
        """Release the claims of priorities that reached a final phase."""
        if self.store is None:
            return
        with self._lock:
            claims = list(self.held.values())
        for pid in (c.priority_id for c in claims):
            state = store.get(pid)
            if state is None or state.phase not in FINAL:
                continue
            with self._changing:
                if (claim := self.held.get(pid)) is None:
                    continue
                try:
                    self.store.release(claim)
                    log.info("released the claim", priority=pid, phase=state.phase.value)
                except CoffeeMakerError as exc:
                    log.warning("could not release a claim; it expires by itself", priority=pid, error=exc.message)
                with self._lock:
                    self.held.pop(pid, None)

    def holder_elsewhere(self, pid: str, *, look: bool = False) -> str | None:
        """Which other daemon held ``pid``'s claim when this one last tried to take it (None: none did).

        ``look``: when this daemon never tried (its claim was lost at a renewal), read the remote now."""
        holder = self._refused.get(pid)
        if holder is None and look and self.store is not None and pid not in self.held:
            try:
                holder = next((c.owner for c in self.store.list() if c.priority_id == pid), None)
            except CoffeeMakerError as exc:
                log.debug("could not read who holds a claim", priority=pid, error=exc.message)
        return holder if holder not in (None, "?") and (self.store is None or holder != self.store.owner) else None

    def previous_owner(self, pid: str) -> str | None:
        """The daemon whose expired claim on ``pid`` this one took over (None: it was free)."""
        with self._lock:
            return self.taken.get(pid)

    def held_elsewhere(self) -> list[str]:
        """The priorities other daemons hold claims on now (one fetch); nothing when claims are off or unreadable."""
        if self.store is None:
            return []
        try:
            return [c.priority_id for c in self.store.list() if c.owner != self.store.owner]
        except CoffeeMakerError as exc:
            log.debug("could not read the other daemons' claims", error=exc.message)
            return []

    def next_renewal_in(self, now: float) -> float | None:
        """Seconds until the soonest renewal falls due (None: nothing held)."""
        if self.store is None or not self.held:
            return None
        lease = self.store.lease_s
        return max(0.0, min(c.expires_at - lease * 2 / 3 for c in self.held.values()) - now)
