"""The base branch moved on and the PR no longer merges: bring the base into the branch, in its worktree.

The base is *merged* into the PR branch (what the forge's "Update branch" does) rather than the branch
rebased onto it: the push that follows is a fast-forward of the PR branch, so nobody's commit on it can
be overwritten and no force-push is ever needed. A clean merge is checked by the gate and pushed; a
merge with conflicts (or one the gate fails) is left in the worktree for the agent, whose fix is
committed — as the merge commit — and pushed by the ordinary attempt. A conflict in the roadmap (the
daemon ticks it on the branch, a person plans on the base) is the person's to resolve: they are told.
"""

from __future__ import annotations

from pathlib import Path

import structlog

from coffee_maker import proc
from coffee_maker.daemon.pr_policy import Feedback
from coffee_maker.daemon.services import Services
from coffee_maker.daemon.state import PriorityState, StateStore
from coffee_maker.types import PullRequest, Workspace
from coffee_maker.vcs.confine import git_in, worktree_of

log = structlog.get_logger(__name__)


def conflict_prompt(base: str, files: list[str]) -> str:
    listed = "\n".join(f"- {f}" for f in files)
    return (f"The base branch {base} moved on and this pull request no longer merges cleanly. The daemon merged "
            f"{base} into the branch; these files have conflicts:\n\n{listed}\n\nResolve every conflict (remove "
            "all conflict markers), keeping what both sides meant, and make the tests pass.")


def gate_prompt(base: str, summary: str) -> str:
    return (f"The base branch {base} moved on; the daemon merged it into this branch without conflicts, but the "
            f"safety gate fails on the result: {summary}\nFix the branch so it works with the new {base}.")


class BaseUpdater:
    def __init__(self, store: StateStore, services: Services, *, repo: Path | None, remote: str) -> None:
        self.store, self.services, self.repo, self.remote = store, services, repo, remote

    def update(self, state: PriorityState, pr: PullRequest) -> Feedback | None:
        """When the PR is not mergeable and its base moved since the last try: merge it in (see the docstring)."""
        if pr.mergeable is not False or self.repo is None:
            return None
        pid, target = state.priority, f"{self.remote}/{pr.base}"
        base_sha = self._git(self.repo, "rev-parse", "--verify", "--quiet", target).stdout.strip()
        if not base_sha or state.extra.get("updated_onto") == base_sha:
            return None  # already tried on this base: a person (or the next base) moves it on
        self.store.update(pid, extra={"updated_onto": base_sha})
        path = self._worktree_of(pr.branch)
        if path is None or self._git(path, "status", "--porcelain").stdout.strip():
            self.services.notifier.inform(f"{pid}: PR #{pr.number} no longer merges into {pr.base}, and the branch "
                                          "has no clean worktree to update it in; please merge or rebase it.",
                                          priority=pid, kind="conflict")
            return None
        ws = Workspace(path, pr.branch, pr.base)
        log.info("the base moved on; merging it into the PR branch", priority=pid, base=target, pr=pr.number)
        merged = self._git(path, "merge", "--no-edit", "-m", f"Merge {pr.base} into {pr.branch}", target)
        if not merged.ok:
            conflicted = self._git(path, "diff", "--name-only", "--diff-filter=U").stdout.split()
            if not conflicted:
                self._git(path, "merge", "--abort")
                self.services.notifier.inform(f"{pid}: merging {pr.base} into PR #{pr.number} failed: "
                                              f"{proc.tail(merged.stdout + merged.stderr, 3)}", priority=pid,
                                              kind="conflict")
                return None
            roadmap = self.services.roadmap_relpath.as_posix()
            if roadmap in conflicted:  # the person's plan, not the agent's to rewrite: they decide
                self._git(path, "merge", "--abort")
                self.services.notifier.inform(f"{pid}: PR #{pr.number} conflicts with {pr.base} in the roadmap "
                                              f"({roadmap}); please merge {pr.base} into {pr.branch} by hand.",
                                              priority=pid, kind="conflict")
                return None
            return Feedback("conflict", conflict_prompt(pr.base, conflicted), pr)
        report = self.services.gate.check(ws)
        if not report.passed:
            return Feedback("conflict", gate_prompt(pr.base, report.summary), pr)
        self.services.git.push(ws)
        self.services.notifier.inform(f"{pid}: merged the new {pr.base} into PR #{pr.number} (no conflicts, the "
                                      "gate passed) and pushed.", priority=pid, kind="pr_updated")
        return None

    def _worktree_of(self, branch: str) -> Path | None:
        assert self.repo is not None
        return worktree_of(self.repo, branch)

    def _git(self, cwd: Path, *args: str) -> proc.Completed:
        return git_in(self.repo, cwd, *args)  # a worktree: git there or nowhere
