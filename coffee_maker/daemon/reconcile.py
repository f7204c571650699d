"""Start-up reconciliation: the state table against git and the forge, once, before the loop.

Every transition is durable, so after a crash the state is at most one step behind, and the
attempt pipeline finishes that step idempotently (a prepared branch is reused, a commit found,
a push repeated, the forge finds the PR it opened). What it cannot see is a state that fell
further behind (a lost or restored state.db) or a branch that went away. This module looks at
what the pipeline leaves alone:

- the forge has an open PR for a priority the state knows no PR of → pr_open, with its number;
- the PR was merged (the person merged it while the daemon was down or mid-step) → done;
- the state says pushed or pr_open, but the branch is gone from git and the forge has no PR → retry;
- a PR recorded merged whose ``done`` was not written → done;
- the state follows PR #n while the forge has #m for the branch → it follows #m.

Left to others: a pr_open row whose PR merged or closed (the review poller's first poll, which
runs before the first step); committed and pushed rows with an open PR (the pipeline's push and
``open_or_update`` find it). Nothing here opens a PR, deletes a branch or a commit, or touches
the person's checkout: it only reads git and the forge and writes the state table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import structlog

from coffee_maker.daemon.state import ACTIVE, Phase, PriorityState, StateStore
from coffee_maker.errors import CoffeeMakerError, GitError
from coffee_maker.types import BranchStatus, Priority, PRState, PullRequest, Status
from coffee_maker.vcs.forge import Forge
from coffee_maker.vcs.git import WorkspaceGit

log = structlog.get_logger(__name__)

#: Rows a reconciliation looks at; the others are final or wait for a person.
_LOOKED_AT = {*ACTIVE, Phase.PLANNED, Phase.RETRY, Phase.PR_OPEN}


@dataclass(frozen=True)
class Change:
    """One thing reconciliation changed, said in one sentence."""

    priority: str
    sentence: str


def reconcile(store: StateStore, git: WorkspaceGit, forge: Forge, priorities: Iterable[Priority] = ()) -> list[Change]:
    """Bring the state in line with git and the forge; returns what changed (nothing: they agreed).

    ``priorities`` (the roadmap's) lets a priority with no state row at all (state.db lost) be
    found through its branch. A forge or git failure is logged and ends the reconciliation early:
    the daemon runs as before, never worse.
    """
    changes: list[Change] = []
    try:
        git.fetch()
    except CoffeeMakerError as exc:
        log.debug("start-up reconciliation skipped: fetching failed", error=exc.message)
        return changes
    for merged in store.in_phases({Phase.MERGED}):
        store.transition(merged.priority, Phase.DONE, detail="reconciled: merged")
        changes.append(Change(merged.priority, f"{merged.priority}: its merged pull request is now recorded as done."))
    rows: list[tuple[str, PriorityState | None, str]] = [
        (s.priority, s, s.branch) for s in store.in_phases(_LOOKED_AT) if s.branch]
    known = {s.priority for s in store.all()}
    rows += [(p.id, None, git.branch_name(p)) for p in priorities
             if p.id not in known and p.status is not Status.COMPLETE]
    for pid, state, branch in rows:
        try:
            status = git.branch_status(branch)
            if state is None and not status.exists:
                continue  # never started: nothing to find, and no forge call for it
            pr = forge.find(branch)
        except GitError as exc:
            # A repository not ready (no commits, an empty origin): the loop says so in its own sentence.
            log.debug("start-up reconciliation stopped early", priority=pid, error=exc.message)
            break
        except Exception as exc:  # noqa: BLE001 — a forge failure must not stop the daemon from starting
            message = exc.message if isinstance(exc, CoffeeMakerError) else f"{type(exc).__name__}: {exc}"
            log.warning("start-up reconciliation stopped early", priority=pid, error=message)
            break
        change = _reconcile_one(store, pid, state, status, pr)
        if change is not None:
            changes.append(Change(pid, change))
    return changes


def _reconcile_one(store: StateStore, pid: str, state: PriorityState | None, status: BranchStatus,
                   pr: PullRequest | None) -> str | None:
    phase = state.phase if state else None
    was = phase.value if phase else "no state"
    if phase is Phase.PR_OPEN:
        assert state is not None
        if pr is not None and pr.state is PRState.OPEN and pr.number != state.pr_number:
            store.update(pid, pr_number=pr.number, pr_url=pr.url)
            return f"{pid}: the state followed PR #{state.pr_number}, the forge has #{pr.number} open for " \
                   f"{status.branch}; following #{pr.number} now."
        if pr is None and not status.exists:
            return _back_to_retry(store, pid, status.branch, was)
        return None  # merged or closed: the review poller's first poll records it
    if pr is not None and pr.state is PRState.MERGED:
        store.reconcile(pid, Phase.MERGED, detail="reconciled: the forge shows it merged", branch=status.branch,
                        pr_number=pr.number, pr_url=pr.url)
        store.transition(pid, Phase.DONE, detail="reconciled: merged")
        return f"{pid}: PR #{pr.number} was merged while the state said {was}; the priority is done."
    if phase is Phase.PUSHED and pr is None and not status.exists:
        return _back_to_retry(store, pid, status.branch, was)
    behind = state is None or state.pr_number is None
    if pr is not None and pr.state is PRState.OPEN and behind and phase not in (Phase.COMMITTED, Phase.PUSHED):
        # A known PR (pr_number set) with an active phase is a review-feedback round: the pipeline resumes it.
        store.reconcile(pid, Phase.PR_OPEN, detail="reconciled: the forge has its pull request",
                        branch=status.branch, pr_number=pr.number, pr_url=pr.url,
                        commit_sha=status.remote_sha or status.local_sha,
                        attempt=max(1, state.attempt if state else 0))
        return f"{pid}: PR #{pr.number} is already open for {status.branch} while the state said {was}; " \
               "it is in review now instead of being worked on again."
    return None


def _back_to_retry(store: StateStore, pid: str, branch: str, was: str) -> str:
    reason = f"its branch {branch} is gone from git and the forge has no pull request for it"
    store.transition(pid, Phase.RETRY, reason=reason, detail="reconciled: branch gone")
    return f"{pid}: the state said {was}, but {reason}; it will be tried again."


def announce(changes: Iterable[Change], inform: Callable[..., None]) -> None:
    """Each change as one sentence: in the log and to the person's channels."""
    for change in changes:
        log.info(change.sentence, priority=change.priority)
        inform(change.sentence, priority=change.priority, kind="reconciled")
