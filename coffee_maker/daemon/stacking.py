"""Stacked dependents ([daemon] stack_dependents): a priority starts on top of its dependency's open PR.

When P2 depends on P1 and P1's PR is open, P2's branch is cut from P1's branch and its PR targets that
branch, saying "stacked on #N" — so a dependent chain moves without waiting for each merge. A stacked PR
carries dependents of its own: P3 (depends on P2) is cut from P2's branch, to any depth. The state row's
``extra`` keeps the facts: ``stack`` ("open", then "landed", "orphaned", "conflict" or "waits"),
``stacked_on`` (P1's id), ``stacked_pr``, ``stacked_branch``, ``stacked_tip`` (the newest P1 commit the
branch was cut from or moved onto) and ``stack_heads`` (the remote tips this branch had before the daemon
rewrote it: a branch cut from one of them contains that generation).

When P1 merges — by merge, squash or rebase — P2 *lands*: ``git rebase --onto <base> <P1's tip>`` replays
only P2's own commits, so a squash (P1's commits never reach the base) duplicates nothing; the PR is
retargeted. P3, whose parent P2 was just rewritten, is *restacked*: ``git rebase --onto <P2's new tip>
<P2's old tip>``, its PR still on P2's branch. Both pushes are ``--force-with-lease`` on the daemon's own
branch (``daemon/restack.py``). P1 closed unmerged blocks P2 with that reason, and a parent blocked by
stacking (closed, a conflict, or waiting itself) blocks its dependents ("waits for …"); branches and PRs
stay for the person. Why opt-in, and the options weighed: docs/tech_decisions/stacking.md.

The decisions are the pure functions at the top; ``Stacking`` asks git and the forge and acts. It is
called at three points: the attempt's branching and PR opening (``daemon/attempt.py``), and each poll
of an open PR (``daemon/reviews.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import structlog

from coffee_maker.daemon.restack import Move, Moved, Restacker, rebase_upstream
from coffee_maker.daemon.services import Services
from coffee_maker.daemon.state import (
    ACTIVE,
    IN_REVIEW,
    Phase,
    PriorityState,
    StateStore,
    unblock_hint,
)
from coffee_maker.errors import GitError
from coffee_maker.types import Priority, PRState, PullRequest, Workspace
from coffee_maker.vcs.confine import worktree_of

__all__ = ["Parent", "Stacking", "body_note", "can_carry", "is_stacked", "next_step", "open_parent_step",
           "orphan_reason", "parent_for", "rebase_upstream", "stack_below", "stackable", "waits_reason"]

log = structlog.get_logger(__name__)

#: A parent blocked by stacking itself: the daemon will not move its branch again, so its dependents wait.
STUCK = frozenset({"orphaned", "conflict", "waits"})
_HEADS_KEPT = 8  # the rewrites a dependent may still be behind by (one per landing or restack)


@dataclass(frozen=True)
class Parent:
    """The open PR a dependent is stacked on."""

    pid: str
    pr_number: int
    branch: str


# ------------------------------------------------------------------ pure decisions


def is_stacked(state: PriorityState | None) -> bool:
    """Stacked on a parent that has not landed (nor closed) yet."""
    return state is not None and state.extra.get("stack") == "open"


def can_carry(state: PriorityState) -> bool:
    """A dependent may stack on it: its PR is open (in review, or the agent is on review feedback). A stacked PR
    carries too — when its own parent lands, the dependents cut from it are restacked onto its new tip."""
    return state.phase in IN_REVIEW | ACTIVE and state.pr_number is not None and bool(state.branch)


def stackable(states: Iterable[PriorityState]) -> frozenset[str]:
    """The planner's ``Held.stackable``: ids whose open PR a dependent may start on."""
    return frozenset(s.priority for s in states if can_carry(s))


def parent_for(priority: Priority, states: Iterable[PriorityState]) -> Parent | None:
    """The one dependency to stack on. The planner started ``priority`` only if every other dependency is
    complete, so exactly one carrier among its dependencies is the parent; none or two: not stacked."""
    by_id = {s.priority: s for s in states}
    carriers = [by_id[d] for d in priority.dependencies if d in by_id and can_carry(by_id[d])]
    if len(carriers) != 1:
        return None
    state = carriers[0]
    assert state.pr_number is not None and state.branch
    return Parent(state.priority, state.pr_number, state.branch)


def next_step(parent_pr: PullRequest) -> Literal["wait", "land", "orphan"]:
    """What the parent's PR means for its dependent: still open, merged (land on its base), or closed."""
    if parent_pr.state is PRState.MERGED:
        return "land"
    return "orphan" if parent_pr.state is PRState.CLOSED else "wait"


def open_parent_step(parent: PriorityState | None, rewritten: bool) -> Literal["wait", "restack", "hold"]:
    """The parent's PR is open: blocked by stacking → its dependent waits too ("hold"); its branch no longer
    holds the commit the dependent stands on (it landed or was restacked) → "restack"; else nothing to do."""
    if parent is not None and parent.phase is Phase.BLOCKED and parent.extra.get("stack") in STUCK:
        return "hold"
    return "restack" if rewritten else "wait"


def stack_below(state: PriorityState, lookup: Callable[[str], PriorityState | None]) -> list[PriorityState]:
    """The open PRs under a stacked one, nearest first, as far down as each is itself stacked: reversed, the
    order a person merges them in."""
    below: list[PriorityState] = []
    seen, current = {state.priority}, state
    while is_stacked(current) and (parent := lookup(str(current.extra["stacked_on"]))) is not None \
            and parent.priority not in seen:  # a loop in stored rows would be a bug; never one here
        below.append(parent)
        seen.add(parent.priority)
        current = parent
    return below


def body_note(state: PriorityState, below: list[PriorityState] | None = None) -> str:
    """The PR body's first line while stacked: what it stands on and, for a chain, every PR under it."""
    number, branch = state.extra["stacked_pr"], state.extra["stacked_branch"]
    head = (f"This pull request is stacked on #{number} ({state.extra['stacked_on']}, branch `{branch}`)")
    deeper = [s for s in (below or [])[1:] if s.pr_number is not None]
    if not deeper:
        return (f"{head}: it targets that branch and shows only this priority's work. Merge #{number} first; "
                "coffee-maker then rebases this branch onto the default branch and retargets this pull request.\n\n")
    chain = ", ".join(f"#{s.pr_number} ({s.priority})" for s in deeper)
    order = ", ".join(f"#{s.pr_number}" for s in reversed(deeper))
    return (f"{head}, which stands on {chain}: it targets `{branch}` and shows only this priority's work. Merge "
            f"them in order — {order}, then #{number} — and this one last; as each merges, coffee-maker moves the "
            "branches above it onto the new base and retargets their pull requests.\n\n")


def orphan_reason(state: PriorityState, parent_pr: PullRequest) -> str:
    return (f"it is stacked on {state.extra['stacked_on']}, whose PR #{parent_pr.number} was closed without merge; "
            f"its branch {state.branch} and its PR stay as they are")


def waits_reason(state: PriorityState, parent: PriorityState) -> str:
    """A dependent of a parent blocked by stacking: the root cause, as far down the chain as it is."""
    cause = parent.extra.get("stack_cause") or parent.reason
    return (f"waits for {parent.priority}, which is blocked ({cause}); it is stacked on its PR "
            f"#{state.extra['stacked_pr']}, and its branch {state.branch} and its PR stay as they are")


# ------------------------------------------------------------------ acting on them


class _Where(Protocol):
    """Where to act: the repository and its remote (the PR loop's settings)."""

    @property
    def repo(self) -> Path | None: ...
    @property
    def remote(self) -> str: ...


class Stacking:
    """Stacking's side effects: the facts at branching, landing and restacking a stacked branch, the blocks."""

    def __init__(self, store: StateStore, services: Services, where: Callable[[], _Where]) -> None:
        self.store, self.services, self.where = store, services, where
        self.git = Restacker(lambda: self.where().repo, lambda: self.where().remote)

    def parent_for(self, priority: Priority) -> Parent | None:
        return parent_for(priority, self.store.all())

    def facts(self, parent: Parent, ws: Workspace) -> dict[str, Any]:
        """What the state row keeps about a branch just cut from ``parent``'s (``stacked_tip``: the cut)."""
        cut = self.git.git(ws.path, "merge-base", "HEAD", f"refs/remotes/{self.where().remote}/{parent.branch}")
        log.info("stacked on an open PR", parent=parent.pid, pr=parent.pr_number, branch=parent.branch)
        return {"stack": "open", "stacked_on": parent.pid, "stacked_pr": parent.pr_number,
                "stacked_branch": parent.branch, "stacked_tip": cut.stdout.strip()}

    def before_pr(self, pid: str, ws: Workspace) -> Workspace | None:
        """Just before the PR opens: land the branch if its parent merged meanwhile (the returned workspace
        has the new base), restack it if its parent was rewritten, block it if the parent closed or is blocked
        by stacking (None); else the workspace as it is."""
        state = self.store.get(pid)
        if not is_stacked(state):
            return ws
        assert state is not None
        parent_pr = self.services.forge.get(int(state.extra["stacked_pr"]))
        step = next_step(parent_pr)
        if step == "orphan":
            self._orphan(state, parent_pr)
            return None
        self.services.git.fetch()
        if step == "wait":
            return ws if self._follow_parent(state, ws.path, in_review=False) else None
        if not self._land(state, parent_pr, None, ws.path):
            return None
        return Workspace(ws.path, ws.branch, parent_pr.base)

    def settle(self, state: PriorityState) -> PriorityState:
        """Each poll of an open PR: a stacked one whose parent merged is landed, one whose parent was rewritten is
        restacked, one whose parent closed (or is blocked by stacking) is blocked. Git or forge failures raise,
        and the poller tries again on its next poll."""
        if not is_stacked(state) or state.phase not in IN_REVIEW:
            return state
        parent_pr = self.services.forge.get(int(state.extra["stacked_pr"]))
        step = next_step(parent_pr)
        try:
            if step == "orphan":
                self._orphan(state, parent_pr)
            elif step == "wait":
                self._follow_parent(state, None, in_review=True)
            elif (pr := self.services.forge.find(state.branch or "")) is not None:
                self._land(state, parent_pr, pr, self._worktree_of(state))
        except GitError as exc:  # not the forge's fault: the other PRs are polled on, this one next time
            self._problem(state, exc.message)
        return self.store.get(state.priority) or state

    def _problem(self, state: PriorityState, message: str) -> None:
        """A move that cannot go on now (a dirty worktree, a refused push): told once, retried each poll."""
        if state.extra.get("stack_problem") == message:
            return
        self.store.update(state.priority, extra={"stack_problem": message})
        log.warning("the stacked branch could not move yet; trying again on the next poll", priority=state.priority,
                    error=message)
        self.services.notifier.inform(f"{state.priority}: {message}", priority=state.priority, kind="conflict")

    # ------------------------------------------------------------------ landing

    def _land(self, state: PriorityState, parent_pr: PullRequest, pr: PullRequest | None, path: Path | None) -> bool:
        """Rebase the branch onto the parent's base, push it, retarget its PR; False when it was blocked."""
        branch, onto, remote = state.branch or "", parent_pr.base, self.where().remote
        heads = [parent_pr.head_sha or "", *self._former_heads(self.store.get(str(state.extra["stacked_on"])))]
        move = Move(branch, f"{remote}/{onto}", f"{remote}/{onto}", str(state.extra["stacked_tip"]), heads,
                    f"after {state.extra['stacked_on']} merged")
        moved = self.git.move(move, path)
        if isinstance(moved, str):
            self._block(state, moved, "conflict", f"rebasing {branch} onto {onto} conflicts")
            return False
        if pr is not None:
            self.services.forge.retarget(pr, onto)
            self.services.forge.comment(pr, f"{state.extra['stacked_on']} merged (#{parent_pr.number}): coffee-maker "
                                            f"rebased `{branch}` onto `{onto}` and retargeted this pull request.")
        self.store.update(state.priority, extra={"stack": "landed", "base": onto, "stack_problem": None,
                                                 "stack_heads": self._heads_after(state, moved)})
        told = f" and retargeted PR #{pr.number} to {onto}" if pr is not None else "; its PR opens against it"
        self.services.notifier.inform(
            f"{state.priority}: {state.extra['stacked_on']} merged (PR #{parent_pr.number}), so {branch} was rebased "
            f"onto {onto}{told}.", priority=state.priority, kind="pr_updated")
        log.info("stacked branch landed", priority=state.priority, onto=onto, pr=pr.number if pr else None)
        return True

    # ------------------------------------------------------------------ following an open parent

    def _follow_parent(self, state: PriorityState, path: Path | None, *, in_review: bool) -> bool:
        """The parent's PR is open: restack onto its new tip when it was rewritten, or block when the parent is
        blocked by stacking; False when blocked. ``in_review``: the PR is open and its branch in whichever worktree
        holds it (else ``path`` is the attempt's) — looked up only when there is something to move."""
        parent = self.store.get(str(state.extra["stacked_on"]))
        parent_branch, remote = str(state.extra["stacked_branch"]), self.where().remote
        repo = self.git.repo()
        head = self.git.sha(repo, f"refs/remotes/{remote}/{parent_branch}")
        cut = str(state.extra["stacked_tip"])
        rewritten = head is not None and not self.git.git(repo, "merge-base", "--is-ancestor", cut, head).ok
        step = open_parent_step(parent, rewritten)
        if step == "hold":
            assert parent is not None
            self._block(state, waits_reason(state, parent), "waits",
                        str(parent.extra.get("stack_cause") or parent.reason))
            return False
        if step == "wait" or head is None:
            return True
        heads = [*self._former_heads(parent), head]
        pr = self.services.forge.find(state.branch or "") if in_review else None
        path = self._worktree_of(state) if in_review else path
        moved = self.git.move(Move(state.branch or "", head, f"{remote}/{parent_branch}", cut, heads,
                                   f"after {state.extra['stacked_on']} was rebased"), path)
        if isinstance(moved, str):
            self._block(state, moved, "conflict", f"restacking {state.branch} onto {parent_branch} conflicts")
            return False
        self.store.update(state.priority, extra={"stacked_tip": head, "stack_problem": None,
                                                 "stack_heads": self._heads_after(state, moved)})
        if pr is not None:
            self.services.forge.comment(pr, f"{state.extra['stacked_on']}'s branch `{parent_branch}` was rebased: "
                                            f"coffee-maker moved `{state.branch}` onto its new tip ({head[:12]}); "
                                            "this pull request still shows only its own work.")
        self.services.notifier.inform(
            f"{state.priority}: {state.extra['stacked_on']}'s branch {parent_branch} was rebased, so {state.branch} was "
            f"moved onto its new tip.", priority=state.priority, kind="pr_updated")
        log.info("stacked branch restacked", priority=state.priority, onto=head, parent=state.extra["stacked_on"])
        return True

    @staticmethod
    def _former_heads(state: PriorityState | None) -> list[str]:
        return [str(h) for h in (state.extra.get("stack_heads") or [])] if state is not None else []

    def _heads_after(self, state: PriorityState, moved: Moved) -> list[str]:
        """``stack_heads`` once ``moved``: the tip just replaced joins them (a dependent may be cut from it)."""
        return [*self._former_heads(state), *([moved.old] if moved.old else [])][-_HEADS_KEPT:]

    def _orphan(self, state: PriorityState, parent_pr: PullRequest) -> None:
        self._block(state, orphan_reason(state, parent_pr), "orphaned",
                    f"{state.extra['stacked_on']}'s PR #{parent_pr.number} was closed without merge")

    def _block(self, state: PriorityState, reason: str, stack: str, cause: str) -> None:
        """Blocked, with the ``cause`` its own dependents repeat when they wait for it (``waits_reason``)."""
        self.store.transition(state.priority, Phase.BLOCKED, reason=reason,
                              extra={"stack": stack, "stack_cause": cause})
        self.services.notifier.inform(f"{state.priority} is blocked: {reason}. {unblock_hint(state.priority)}",
                                      priority=state.priority, kind="blocked")
        log.warning("stacked priority blocked", priority=state.priority, reason=reason)

    def _worktree_of(self, state: PriorityState) -> Path | None:
        return worktree_of(self.git.repo(), state.branch or "")
