"""Before a PR opens: does the branch merge into its base and beside the other open PRs' branches?

Why: two lanes whose work overlaps would otherwise open two PRs that cannot both merge. The
branch is checked (``vcs/merge_check``, no checkout) against the base, against every branch of
this daemon's priorities whose PR is open, and against the pushed branches of priorities other
daemons hold claims on (``elsewhere``: read from the shared remote). The one whose PR opened first
goes first: on a conflict with it, a lane waits — sleeping on the stop event, re-checking at each
poll — until that PR merges or closes (another daemon's branch only counts while the forge shows
its PR open, so two daemons never wait for each other); `run --once` does not wait, it says so in
the PR body. What was checked, and the outcome, goes into the PR body. A conflict only in the
roadmap is not one: every branch ticks its own section, and two neighbouring sections' edits
touch adjacent lines. A conflict with the base opens the PR saying so; the PR loop then merges the
base in and has the agent resolve it (``daemon/pr_base.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from coffee_maker.daemon.exits import AttemptExit, Failed
from coffee_maker.daemon.state import IN_REVIEW, StateStore
from coffee_maker.daemon.status import StatusBoard
from coffee_maker.errors import CoffeeMakerError
from coffee_maker.types import Priority, Workspace
from coffee_maker.vcs.merge_check import conflicting_paths

log = structlog.get_logger(__name__)


class ConflictGuard:
    def __init__(self, store: StateStore, status: StatusBoard, stopping: threading.Event, *, remote: str,
                 recheck_s: float, roadmap: str, elsewhere: Callable[[], dict[str, str]] | None = None,
                 fetch: Callable[[], None] | None = None) -> None:
        self.store = store
        self.status = status
        self.stopping = stopping
        self.remote = remote
        self.recheck_s = recheck_s
        self.roadmap = roadmap  # relative to the repository, as git names paths
        #: Other daemons' priorities whose PR is open → their branch, fetched (``OtherDaemons.open_prs``).
        self.elsewhere = elsewhere or dict
        self.fetch = fetch or (lambda: None)  # the remote's branches as they are now (the base moved while we waited)

    def _merges(self, ws: Workspace, ref: str) -> bool | None:
        paths = conflicting_paths(ws.path, "HEAD", ref)
        return None if paths is None else not [p for p in paths if p != self.roadmap]

    def _open_branches(self, pid: str) -> dict[str, str]:
        ours = {s.priority: s.branch for s in self.store.in_phases(IN_REVIEW) if s.branch and s.priority != pid}
        return {**{p: b for p, b in self.elsewhere().items() if p != pid}, **ours}

    def _conflicts(self, ws: Workspace, others: dict[str, str]) -> list[str]:
        return [pid for pid, branch in sorted(others.items())
                if self._merges(ws, f"refs/remotes/{self.remote}/{branch}") is False]

    def check(self, priority: Priority, ws: Workspace) -> str:
        """The PR body's line on mergeability; in a lane, first wait while an earlier open PR conflicts."""
        waited: list[str] = []
        while True:  # the open branches are read once a turn: other daemons' cost a fetch and forge calls
            others = self._open_branches(priority.id)
            conflicts = self._conflicts(ws, others)
            if not conflicts or self.status.lane is None:
                break
            if conflicts[0] not in waited:
                waited.append(conflicts[0])
                log.info("the branch conflicts with an open PR; waiting for it to merge", priority=priority.id,
                         conflicts_with=conflicts)
            self.status.waiting(f"{conflicts[0]} to merge (its open PR conflicts with this branch)")
            if self.stopping.wait(self.recheck_s):
                raise AttemptExit(Failed("stopped while waiting for a conflicting PR to merge"))
        if waited:
            self.status.waiting(None)
            try:
                self.fetch()  # what we waited for merged: the base has moved since the last fetch
            except CoffeeMakerError as exc:
                log.warning("could not fetch before the merge check; checking against the last fetch", error=exc.message)
        base = self._merges(ws, f"refs/remotes/{self.remote}/{ws.base}")
        checked = ", ".join([f"`{ws.base}`", *(f"`{others[p]}` ({p})" for p in sorted(others))])
        verdict = {True: "merges cleanly", False: "**conflicts** — a rebase is needed before merging",
                   None: "could not be checked"}[base]
        line = f"Merge check (`git merge-tree`, no checkout) against {checked}: into `{ws.base}` {verdict}"
        if conflicts:
            line += "; **conflicts with** " + ", ".join(conflicts) + " (merge one first)"
        if waited:
            line += "; waited for " + ", ".join(waited) + " to merge first"
        return line + "."
