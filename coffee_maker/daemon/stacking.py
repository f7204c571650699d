"""Stacked dependents ([daemon] stack_dependents): a priority starts on top of its dependency's open PR.

When P2 depends on P1 and P1's PR is open, P2's branch is cut from P1's branch and its PR targets that
branch, saying "stacked on #N" — so a dependent chain moves without waiting for each merge. The state
row's ``extra`` keeps the facts: ``stack`` ("open", then "landed", "orphaned" or "conflict"),
``stacked_on`` (P1's id), ``stacked_pr``, ``stacked_branch`` and ``stacked_tip`` (the P1 commit the
branch was cut from).

When P1 merges — by merge, squash or rebase — P2 is rebased with ``git rebase --onto <base> <P1's tip>``:
only P2's own commits are replayed, so a squash (P1's commits never reach the base) duplicates nothing.
The push is ``--force-with-lease`` on P2's own branch; the PR is retargeted and the person told. When
P1's PR is closed unmerged, P2 is blocked with that reason; its branch and PR stay for the person.
Why opt-in, and the options weighed: docs/tech_decisions/stacking.md.

The decisions are the pure functions at the top; ``Stacking`` asks git and the forge and acts. It is
called at three points: the attempt's branching and PR opening (``daemon/attempt.py``), and each poll
of an open PR (``daemon/reviews.py``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import structlog

from coffee_maker import proc
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
from coffee_maker.vcs.confine import git_in, worktree_of

log = structlog.get_logger(__name__)


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
    """A dependent may stack on it: its PR is open (in review, or the agent is on review feedback), and it is
    not stacked itself — one level only, so a parent's landing never rewrites a branch another one is cut from."""
    return (state.phase in IN_REVIEW | ACTIVE and state.pr_number is not None and bool(state.branch)
            and not is_stacked(state))


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


def rebase_upstream(cut: str, shared: str | None, cut_in_shared: bool) -> str:
    """The ``<upstream>`` of ``git rebase --onto``: the newest parent commit the branch contains.

    ``cut`` is where the branch was cut; ``shared`` the merge-base of the branch and the parent's final
    head. When the branch took in later parent work (the base updater merged it in), ``shared`` is past
    ``cut`` and those commits must not be replayed either. A parent rewritten by force (``cut`` not in its
    history) leaves ``cut``: the commits after it are the dependent's own.
    """
    return shared if shared and cut_in_shared else cut


def body_note(state: PriorityState) -> str:
    """The PR body's first line while stacked."""
    return (f"This pull request is stacked on #{state.extra['stacked_pr']} ({state.extra['stacked_on']}, branch "
            f"`{state.extra['stacked_branch']}`): it targets that branch and shows only this priority's work. "
            f"Merge #{state.extra['stacked_pr']} first; coffee-maker then rebases this branch onto the default "
            "branch and retargets this pull request.\n\n")


def orphan_reason(state: PriorityState, parent_pr: PullRequest) -> str:
    return (f"it is stacked on {state.extra['stacked_on']}, whose PR #{parent_pr.number} was closed without merge; "
            f"its branch {state.branch} and its PR stay as they are")


# ------------------------------------------------------------------ acting on them


class _Where(Protocol):
    """Where to act: the repository and its remote (the PR loop's settings)."""

    @property
    def repo(self) -> Path | None: ...
    @property
    def remote(self) -> str: ...


class Stacking:
    """Stacking's side effects: the facts at branching, the landing of a stacked branch, the block."""

    def __init__(self, store: StateStore, services: Services, where: Callable[[], _Where]) -> None:
        self.store, self.services, self.where = store, services, where

    def parent_for(self, priority: Priority) -> Parent | None:
        return parent_for(priority, self.store.all())

    def facts(self, parent: Parent, ws: Workspace) -> dict[str, Any]:
        """What the state row keeps about a branch just cut from ``parent``'s (``stacked_tip``: the cut)."""
        cut = self._git(ws.path, "merge-base", "HEAD", f"refs/remotes/{self.where().remote}/{parent.branch}")
        log.info("stacked on an open PR", parent=parent.pid, pr=parent.pr_number, branch=parent.branch)
        return {"stack": "open", "stacked_on": parent.pid, "stacked_pr": parent.pr_number,
                "stacked_branch": parent.branch, "stacked_tip": cut.stdout.strip()}

    def before_pr(self, pid: str, ws: Workspace) -> Workspace | None:
        """Just before the PR opens: land the branch if its parent merged meanwhile (the returned workspace
        has the new base), block it if the parent closed (None); else the workspace as it is."""
        state = self.store.get(pid)
        if not is_stacked(state):
            return ws
        assert state is not None
        parent_pr = self.services.forge.get(int(state.extra["stacked_pr"]))
        step = next_step(parent_pr)
        if step == "orphan":
            self._block(state, orphan_reason(state, parent_pr), "orphaned")
            return None
        if step == "wait":
            return ws
        self.services.git.fetch()
        if not self._land(state, parent_pr, None, ws.path):
            return None
        return Workspace(ws.path, ws.branch, parent_pr.base)

    def settle(self, state: PriorityState) -> PriorityState:
        """Each poll of an open PR: a stacked one whose parent merged is landed, one whose parent closed is
        blocked. Git or forge failures raise, and the poller tries again on its next poll."""
        if not is_stacked(state) or state.phase not in IN_REVIEW:
            return state
        parent_pr = self.services.forge.get(int(state.extra["stacked_pr"]))
        step = next_step(parent_pr)
        if step == "orphan":
            self._block(state, orphan_reason(state, parent_pr), "orphaned")
        elif step == "land" and (pr := self.services.forge.find(state.branch or "")) is not None:
            try:
                self._land(state, parent_pr, pr, self._worktree_of(state.branch or ""))
            except GitError as exc:  # not the forge's fault: the other PRs are polled on, this one next time
                self._problem(state, exc.message)
        return self.store.get(state.priority) or state

    def _problem(self, state: PriorityState, message: str) -> None:
        """A landing that cannot go on now (a dirty worktree, a refused push): told once, retried each poll."""
        if state.extra.get("stack_problem") == message:
            return
        self.store.update(state.priority, extra={"stack_problem": message})
        log.warning("the stacked branch could not land yet; trying again on the next poll", priority=state.priority,
                    error=message)
        self.services.notifier.inform(f"{state.priority}: {message}", priority=state.priority, kind="conflict")

    # ------------------------------------------------------------------ landing

    def _land(self, state: PriorityState, parent_pr: PullRequest, pr: PullRequest | None, path: Path | None) -> bool:
        """Rebase the branch onto the parent's base, push it, retarget its PR; False when it was blocked."""
        branch, onto = state.branch or "", parent_pr.base
        if path is not None:
            if self._git(path, "status", "--porcelain").stdout.strip():
                raise GitError(f"{state.priority}: the worktree {path} has uncommitted changes; the stacked branch "
                               "is rebased once it is clean.")
            landed = self._rebase(state, parent_pr, path)
        else:
            with tempfile.TemporaryDirectory(prefix="coffee-maker-restack-") as scratch:
                landed = self._rebase_detached(state, parent_pr, Path(scratch) / "wt")
        if landed is not None:
            self._block(state, landed, "conflict")
            return False
        if pr is not None:
            self.services.forge.retarget(pr, onto)
            self.services.forge.comment(pr, f"{state.extra['stacked_on']} merged (#{parent_pr.number}): coffee-maker "
                                            f"rebased `{branch}` onto `{onto}` and retargeted this pull request.")
        self.store.update(state.priority, extra={"stack": "landed", "base": onto, "stack_problem": None})
        told = f" and retargeted PR #{pr.number} to {onto}" if pr is not None else "; its PR opens against it"
        self.services.notifier.inform(
            f"{state.priority}: {state.extra['stacked_on']} merged (PR #{parent_pr.number}), so {branch} was rebased "
            f"onto {onto}{told}.", priority=state.priority, kind="pr_updated")
        log.info("stacked branch landed", priority=state.priority, onto=onto, pr=pr.number if pr else None)
        return True

    def _rebase_detached(self, state: PriorityState, parent_pr: PullRequest, path: Path) -> str | None:
        """No worktree holds the branch (it was reused): rebase in a scratch one, then move the branch there."""
        repo, branch = self._repo(), state.branch or ""
        start = branch if self._sha(repo, f"refs/heads/{branch}") else f"{self.where().remote}/{branch}"
        self._ok(repo, "worktree", "prune")  # a worktree that lost its .git still holds the branch until pruned
        self._ok(repo, "worktree", "add", "--quiet", "--detach", str(path), start)
        try:
            problem = self._rebase(state, parent_pr, path)
            if problem is None:
                self._ok(repo, "branch", "--force", branch, self._git(path, "rev-parse", "HEAD").stdout.strip())
            return problem
        finally:
            self._git(repo, "worktree", "remove", "--force", str(path))

    def _rebase(self, state: PriorityState, parent_pr: PullRequest, path: Path) -> str | None:
        """`git rebase --onto` in ``path`` and a lease-guarded push; a conflict's reason (nothing pushed)."""
        remote, branch = self.where().remote, state.branch or ""
        onto, cut = f"{remote}/{parent_pr.base}", str(state.extra["stacked_tip"])
        already = (self._git(path, "merge-base", "--is-ancestor", onto, "HEAD").ok
                   and not self._git(path, "merge-base", "--is-ancestor", cut, "HEAD").ok)
        if not already:  # not yet rebased (a crash after the rebase, before the push, lands here rebased)
            head = parent_pr.head_sha if parent_pr.head_sha and self._sha(path, parent_pr.head_sha) else None
            shared = self._git(path, "merge-base", "HEAD", head).stdout.strip() if head else None
            cut_in_shared = bool(shared) and self._git(path, "merge-base", "--is-ancestor", cut, shared or "").ok
            upstream = rebase_upstream(cut, shared, cut_in_shared)
            rebased = self._git(path, "rebase", "--quiet", "--onto", onto, upstream)
            if not rebased.ok:
                conflicted = self._git(path, "diff", "--name-only", "--diff-filter=U").stdout.split()
                self._git(path, "rebase", "--abort")
                where = f" in {', '.join(conflicted)}" if conflicted else f": {proc.tail(rebased.stderr, 3)}"
                return (f"rebasing {branch} onto {parent_pr.base} after {state.extra['stacked_on']} merged conflicts"
                        f"{where}; rebase it by hand (`git rebase --onto {onto} {upstream[:12]} {branch}`)")
        lease = self._sha(path, f"refs/remotes/{remote}/{branch}")
        pushed = self._git(path, "push", "--quiet", *([f"--force-with-lease=refs/heads/{branch}:{lease}"] if lease
                                                     else []), remote, f"HEAD:refs/heads/{branch}")
        if not pushed.ok:
            raise GitError(f"Pushing the rebased {branch} to {remote} was rejected: {proc.tail(pushed.stderr, 3)}")
        return None

    def _block(self, state: PriorityState, reason: str, stack: str) -> None:
        self.store.transition(state.priority, Phase.BLOCKED, reason=reason, extra={"stack": stack})
        self.services.notifier.inform(f"{state.priority} is blocked: {reason}. {unblock_hint(state.priority)}",
                                      priority=state.priority, kind="blocked")
        log.warning("stacked priority blocked", priority=state.priority, reason=reason)

    # ------------------------------------------------------------------ git

    def _repo(self) -> Path:
        repo = self.where().repo
        if repo is None:
            raise GitError("Stacked branches need the repository's path to rebase in.")
        return repo

    def _worktree_of(self, branch: str) -> Path | None:
        return worktree_of(self._repo(), branch)

    def _sha(self, cwd: Path, ref: str) -> str | None:
        found = self._git(cwd, "rev-parse", "--verify", "--quiet", ref + "^{commit}")
        return found.stdout.strip() if found.ok else None

    def _ok(self, cwd: Path, *args: str) -> None:
        result = self._git(cwd, *args)
        if not result.ok:
            raise GitError(f"`git {' '.join(args)}` failed: {proc.tail(result.stderr or result.stdout, 3)}")

    def _git(self, cwd: Path, *args: str) -> proc.Completed:
        return git_in(self.where().repo, cwd, *args)  # a worktree: git there or nowhere
