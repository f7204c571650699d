"""One fix round at a time on a PR: the round this daemon handed to the agent, whether it landed, and its retry.

Why one at a time: with a lane busy elsewhere, a CI fix and a review round can both wait in the queue. The
first to land changes the PR's head, and the poller would answer the review threads with that commit — the
CI fix's, which never saw the comments. So while a round is handed and not landed, the poller hands nothing
else for that PR (a red check, review threads, a base merge, a merge all wait); the next round then starts
from the commit the previous one pushed, and a red check on a head about to be replaced costs no round.

A round has landed when the PR's commit changed since it was handed, or its attempt reached the PR without
a code change (``fix_done``). Which round is under way is kept in memory, like the lanes' queue it mirrors:
after a restart nothing is waiting, and nothing blocks the next round. What the round asked is kept in the
state row (``extra["fix_round"]``): a round that fails (gate, agent error) is retried by the next attempt
as that same round — the same feedback, the agent resumed on the same branch, the same PR — counted as
another round of its kind, and a CI round past ``[daemon] ci_fix_rounds`` blocks instead (branch and PR kept).
"""

from __future__ import annotations

from dataclasses import asdict

import structlog

from coffee_maker.daemon.pr_policy import CiMemory, Feedback, ci_retry
from coffee_maker.daemon.services import Services
from coffee_maker.daemon.state import Phase, PriorityState, StateStore

log = structlog.get_logger(__name__)


class FixRounds:
    def __init__(self, store: StateStore, services: Services) -> None:
        self.store, self.services = store, services
        self._handed: dict[str, str | None] = {}  # priority → the PR's commit when its round was handed

    def hand(self, state: PriorityState, feedback: Feedback, what: str = "") -> None:
        """``what`` names what the round fixes, for a block when its retries run out."""
        self._handed[state.priority] = state.commit_sha
        # ``fix_done``: an earlier round's, set again by this round's push.
        self.store.update(state.priority, extra={"fix_done": None, "fix_round": {
            "kind": feedback.kind, "prompt": feedback.prompt, "what": what, "pr": feedback.pr.number,
            "threads": [asdict(t) for t in feedback.threads]}})

    def busy(self, state: PriorityState) -> bool:
        """A round handed for this PR and not landed yet (a landed one is forgotten here)."""
        if state.priority not in self._handed:
            if state.extra.get("replies_due") or state.extra.get("fix_round"):
                # Handed by a daemon that stopped before their fix ran: the threads are offered again, and
                # another round's commit never answers them.
                self.store.update(state.priority, extra={"replies_due": None, "fix_round": None})
            return False
        if state.commit_sha != self._handed[state.priority] or state.extra.get("fix_done"):
            del self._handed[state.priority]
            self.store.update(state.priority, extra={"fix_round": None})
            return False
        return True

    def drop(self, pid: str) -> None:
        """The round ended without landing (failed) or was answered: the next one may be handed."""
        self._handed.pop(pid, None)

    def retry(self, state: PriorityState, *, ci_fix_rounds: int) -> str | None:
        """The feedback of the round that failed, to run again now, counted as another round of its kind; None
        when it is a CI round past ``ci_fix_rounds`` — then the priority is blocked, its branch and PR kept."""
        due, pid = state.extra.get("fix_round") or {}, state.priority
        if due.get("kind") == "ci":
            memory = CiMemory.load(state.extra.get("ci"))
            block = ci_retry(memory.rounds, ci_fix_rounds, pid=pid, pr_number=int(due.get("pr") or 0),
                             what=str(due.get("what") or "a red CI check"), failure=state.reason)
            if block is not None:
                self.store.transition(pid, Phase.BLOCKED, reason=block.reason, extra={"fix_round": None})
                self.services.notifier.inform(block.notice, priority=pid, kind="blocked")
                return None
            memory.rounds += 1
            self.store.update(pid, extra={"ci": memory.dump()})
        elif due.get("kind") == "review":  # its threads are due again (``fix_failed`` gave them back)
            self.store.update(pid, extra={"review_rounds": int(state.extra.get("review_rounds", 0)) + 1,
                                          "fix_answer": None, "fix_done": None,
                                          "replies_due": {"threads": due.get("threads") or [],
                                                          "before": state.commit_sha}})
        log.info("the failed fix round is tried again as that round", priority=pid, kind=due.get("kind"))
        self._handed[pid] = state.commit_sha
        return str(due.get("prompt") or "")
