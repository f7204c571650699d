"""One open PR, one poll: follow its CI, hand red checks and review threads to the agent, merge when allowed.

The decisions are ``daemon/pr_policy.py``'s; this module asks the forge, remembers what it saw in the
state row's ``extra`` (``ci``, ``threads_seen``) so a restart neither repeats nor forgets a fix round,
and acts. Forge errors propagate to the poller, which backs off (``daemon/reviews.py``).

One fix round at a time per PR, a failed one retried as itself (``daemon/pr_rounds.py``). Review threads
handed to a fix wait in ``replies_due`` and become ``threads_seen`` only once answered after its push.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import structlog

from coffee_maker import proc
from coffee_maker.config import LoadedConfig
from coffee_maker.daemon.pr_base import BaseUpdater
from coffee_maker.daemon.pr_policy import (
    BlockCi,
    CiMemory,
    Feedback,
    FixCi,
    Green,
    MergeNow,
    Rerun,
    Tell,
    Wait,
    ci_waiting,
    merge_decision,
    red_check,
    review_prompt,
    thread_replies,
    threads_to_address,
)
from coffee_maker.daemon.pr_receipt import ReceiptKeeper
from coffee_maker.daemon.pr_rounds import FixRounds
from coffee_maker.daemon.services import Services
from coffee_maker.daemon.stacking import is_stacked
from coffee_maker.daemon.state import FINISHED, Phase, PriorityState, StateStore
from coffee_maker.errors import CoffeeMakerError
from coffee_maker.types import CiState, Priority, PRState, PullRequest, ReviewThread, Workspace
from coffee_maker.vcs.forge.triage import classify_failure

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class LoopSettings:
    """The [forge] and [daemon] settings the loop reads (defaults: follow CI, never merge)."""

    ci: str = "wait"
    ci_timeout_s: float = 3600.0
    ci_fix_rounds: int = 2
    merge: str = "off"
    repo: Path | None = None  # for the branch's changed files and its worktree
    remote: str = "origin"

    @classmethod
    def of(cls, loaded: LoadedConfig) -> LoopSettings:
        forge, daemon = loaded.config.forge, loaded.config.daemon
        return cls(forge.ci, forge.ci_timeout_s, daemon.ci_fix_rounds, forge.merge, loaded.repo,
                   loaded.config.git.remote)


class PullRequestLoop:
    def __init__(self, store: StateStore, services: Services, settings: LoopSettings, *, interval_s: float,
                 priority_of: Callable[[str], Priority | None] | None = None) -> None:
        self.store, self.services = store, services
        self.settings = settings
        self.interval_s = interval_s
        self.not_before: dict[str, float] = {}  # priority → no CI poll before this (pending back-off)
        self.receipt = ReceiptKeeper(store, services, priority_of or (lambda _pid: None))
        self.rounds = FixRounds(store, services)  # the fix round handed per PR, one at a time (daemon/pr_rounds.py)

    def follow(self, state: PriorityState, pr: PullRequest) -> Feedback | None:
        """Work for the agent on this PR, if any; merges and CI notices are done here; the receipt follows."""
        feedback = self._follow(state, pr)
        if pr.state is PRState.OPEN and (now := self.store.get(state.priority)) is not None \
                and now.phase not in FINISHED:
            self.receipt.refresh(now, pr)
        return feedback

    def _follow(self, state: PriorityState, pr: PullRequest) -> Feedback | None:
        pid = state.priority
        self._answer_threads(state, pr)
        state = self.store.get(pid) or state
        busy = self.rounds.busy(state)  # a round handed and not landed: nothing else is handed meanwhile
        feedback, ci_state = self._follow_ci(state, pr, busy=busy) if self.settings.ci == "wait" else (None, None)
        now = self.store.get(pid)
        if feedback is not None or now is None or now.phase is not Phase.PR_OPEN or busy:  # sent, blocked, waiting
            return feedback
        state = now
        base = BaseUpdater(self.store, self.services, repo=self.settings.repo, remote=self.settings.remote)
        if (feedback := base.update(state, pr)) is not None:
            self.rounds.hand(state, feedback, f"the merge of {pr.base} into the branch")
            return feedback
        if (feedback := self._review(state, pr)) is not None:
            return feedback
        if self.settings.merge != "off":
            if ci_state is None:  # CI not looked at on this poll (ignored, or backing off): merging still needs green
                ci_state = self.services.forge.checks(pr).state
            self._maybe_merge(state, pr, ci_state)
        return None

    # ------------------------------------------------------------------ CI

    def _follow_ci(self, state: PriorityState, pr: PullRequest, *,
                   busy: bool) -> tuple[Feedback | None, CiState | None]:
        pid, now = state.priority, time.time()
        if not pr.head_sha or now < self.not_before.get(pid, 0.0):
            return None, None
        memory = CiMemory.load(state.extra.get("ci"))
        memory.follow(pr.head_sha, now)
        report = self.services.forge.checks(pr)
        seen = [f"{c.name}: {c.conclusion or c.status}" for c in report.checks]
        if seen != state.extra.get("checks_seen"):
            self.store.update(pid, extra={"checks_seen": seen})  # the receipt's "CI checks"
        if memory.handled:
            self._save(pid, memory)
            return None, report.state
        waiting = ci_waiting(report, memory, pid=pid, timeout_s=self.settings.ci_timeout_s, now=now,
                             interval_s=self.interval_s)
        if isinstance(waiting, Wait):
            memory.polls += report.state is CiState.PENDING
            self.not_before[pid] = now + waiting.next_s
            self._save(pid, memory)
            return None, report.state
        if isinstance(waiting, Tell):
            memory.handled = True
            self._save(pid, memory)
            self.services.notifier.inform(waiting.notice, priority=pid, kind="ci")
            return None, report.state
        if isinstance(waiting, Green):
            if memory.reruns:  # green after a re-run: a flaky check or a lost runner, nothing to fix
                memory.handled = True
                self.services.notifier.inform(
                    f"{pid}: {', '.join(repr(n) for n in memory.reruns)} failed, then passed on a re-run of the same "
                    f"commit (flaky or the runner); nothing to fix on PR #{pr.number}.", priority=pid, kind="ci")
            self._save(pid, memory)
            return None, report.state
        if busy:  # looked at once the round under way lands (its push may well replace this head)
            self._save(pid, memory)
            return None, report.state
        check = report.failed[0]
        excerpt = self.services.forge.failure_log(check) if check.job_id is not None else None
        kind = classify_failure(check, excerpt, self._changed_files(pr),
                                rerun_passed=False if check.name in memory.reruns else None)
        action = red_check(check, kind, excerpt, memory, pid=pid, pr=pr, rounds_allowed=self.settings.ci_fix_rounds)
        log.info("a CI check failed", priority=pid, check=check.name, kind=kind.value, action=type(action).__name__)
        if isinstance(action, Rerun):
            memory.reruns.append(check.name)
            self._save(pid, memory)
            self.services.forge.rerun(check)
            log.info(action.note, priority=pid)
            return None, report.state
        memory.handled = True
        if isinstance(action, Tell):
            self._save(pid, memory)
            self.services.notifier.inform(action.notice, priority=pid, kind="ci")
            return None, report.state
        if isinstance(action, BlockCi):
            self._save(pid, memory)
            self.store.transition(pid, Phase.BLOCKED, reason=action.reason)
            self.services.notifier.inform(action.notice, priority=pid, kind="blocked")
            return None, report.state
        assert isinstance(action, FixCi)
        memory.rounds += 1  # counted before the agent runs: a restart mid-fix does not give a round back
        self._save(pid, memory)
        feedback = Feedback("ci", action.prompt, pr)
        self.rounds.hand(state, feedback, f"the CI check {check.name!r} ({check.url or pr.url})")
        return feedback, report.state

    def _save(self, pid: str, memory: CiMemory) -> None:
        """Written only when it changed: an idle PR costs no database write per poll."""
        state = self.store.get(pid)
        if state is None or state.extra.get("ci") != memory.dump():
            self.store.update(pid, extra={"ci": memory.dump()})

    def _changed_files(self, pr: PullRequest) -> list[str]:
        if self.settings.repo is None:
            return []
        remote = self.settings.remote
        result = proc.run(["git", "diff", "--name-only", f"{remote}/{pr.base}...{remote}/{pr.branch}"],
                          cwd=self.settings.repo, timeout=60)
        return result.stdout.split() if result.ok else []

    # ------------------------------------------------------------------ review threads

    def _review(self, state: PriorityState, pr: PullRequest) -> Feedback | None:
        # Called only with no round under way (pr_rounds): its push answers exactly the threads it was given.
        seen = {str(t) for t in state.extra.get("threads_seen", [])}
        threads = threads_to_address(self.services.forge.review_threads(pr), seen,
                                     changes_requested=pr.review_decision == "changes_requested")
        if not threads:
            return None
        # Answered once a new commit is on the PR — inline or in a lane, and after a restart too.
        due = {"threads": [asdict(t) for t in threads], "before": state.commit_sha}
        self.store.update(state.priority, extra={"replies_due": due, "fix_answer": None, "fix_done": None,
                                                 "feedback_seen": len(seen) + len(threads),  # handed to the agent
                                                 "review_rounds": int(state.extra.get("review_rounds", 0)) + 1})
        self.rounds.hand(state, feedback := Feedback("review", review_prompt(threads), pr, tuple(threads)),
                         "the review comments")
        return feedback

    def fix_failed(self, pid: str) -> None:
        """The fix round failed (gate red, agent error): its threads are given back — to its retry (``retry_round``),
        or to the next round after a block."""
        self.rounds.drop(pid)
        state = self.store.get(pid)
        if state is not None and state.extra.get("replies_due"):
            log.info("the fix failed; its review threads are offered again on the next round", priority=pid)
            self.store.update(pid, extra={"replies_due": None})

    def retry_round(self, state: PriorityState) -> str | None:
        """The feedback of a fix round that failed, for the retry to run as that round; None: blocked instead."""
        return self.rounds.retry(state, ci_fix_rounds=self.settings.ci_fix_rounds)

    def _answer_threads(self, state: PriorityState, pr: PullRequest) -> None:
        """The fix for review threads is done (a new commit since they were handed over, or a fix that reached
        the PR without changing the code — every comment declined): answer them."""
        due = state.extra.get("replies_due")
        changed = bool(state.commit_sha) and state.commit_sha != (due or {}).get("before")
        if not due or state.phase is not Phase.PR_OPEN or not (changed or state.extra.get("fix_done")):
            return
        self.rounds.drop(state.priority)
        threads = tuple(ReviewThread(**t) for t in due["threads"])
        seen = [*state.extra.get("threads_seen", []), *(t.id for t in threads)]
        # At most once, even if a reply fails.
        self.store.update(state.priority, extra={"replies_due": None, "threads_seen": seen, "fix_done": None})
        self.after_fix(state.priority, Feedback("review", "", pr, threads), changed=changed)

    def after_fix(self, pid: str, feedback: Feedback, *, changed: bool = True) -> None:
        """The fix is pushed: reply in each thread — the commit, or the agent's reason for not changing it —
        resolve the fixed ones, ask for a new review."""
        state = self.store.get(pid)
        if not feedback.threads or state is None or state.phase is not Phase.PR_OPEN:
            return
        answer = state.extra.get("fix_answer")
        if not answer:  # no answer kept (a fix resumed after a restart): the attempt's last words
            answer = next((s for s in reversed((state.extra.get("record") or {}).get("summaries") or [])
                           if s.strip()), "")
        forge = self.services.forge
        for reply in thread_replies(feedback.threads, str(answer), (state.commit_sha or "") if changed else ""):
            forge.reply(reply.thread, reply.body)
            if reply.resolve:
                forge.resolve(reply.thread)
        people = sorted({t.author for t in feedback.threads})
        try:
            forge.request_review(feedback.pr, people)
        except CoffeeMakerError as exc:  # a reviewer who may not be requested (the PR's author) is no failure
            log.warning("could not request a new review", priority=pid, error=exc.message)

    # ------------------------------------------------------------------ merging

    def _maybe_merge(self, state: PriorityState, pr: PullRequest, ci: CiState | None) -> None:
        if is_stacked(state):  # merging now would merge it into its parent's branch, not the default one
            return
        decision = merge_decision(pr, ci, self.settings.merge)
        if not isinstance(decision, MergeNow):
            if self.settings.merge != "off":
                log.debug("not merging", priority=state.priority, why=decision)
            return
        pid, forge = state.priority, self.services.forge
        if decision.auto:
            if not state.extra.get("auto_merge"):
                forge.enable_auto_merge(pr, decision.method)
                self.store.update(pid, extra={"auto_merge": True})
                self.services.notifier.inform(f"{pid}: auto-merge enabled on PR #{pr.number}", priority=pid,
                                              kind="merged")
            return
        sha = forge.merge(pr, decision.method)
        forge.delete_branch(pr.branch)
        self.store.transition(pid, Phase.MERGED, detail=f"merged by coffee-maker ({decision.method})")
        self.store.transition(pid, Phase.DONE)
        self._free_worktree(pr)
        log.info("pull request merged", priority=pid, pr=pr.url, sha=sha)
        self.services.notifier.inform(f"{pid}: PR #{pr.number} approved and green — merged ({decision.method}).",
                                      priority=pid, kind="merged")

    def _free_worktree(self, pr: PullRequest) -> None:
        """The branch's worktree goes back to the spare pool; the local branch goes."""
        if self.settings.repo is None:
            return
        listing = proc.run(["git", "worktree", "list", "--porcelain"], cwd=self.settings.repo, timeout=30)
        path: str | None = None
        for line in listing.stdout.splitlines():
            if line.startswith("worktree "):
                path = line.removeprefix("worktree ")
            elif line == f"branch refs/heads/{pr.branch}" and path is not None:
                try:
                    self.services.git.discard(Workspace(Path(path), pr.branch, pr.base), keep_branch=False)
                except CoffeeMakerError as exc:
                    log.warning("could not free the merged branch's worktree", path=path, error=exc.message)
                return


