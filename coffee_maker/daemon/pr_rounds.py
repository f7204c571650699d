"""One fix round at a time on a PR: the round this daemon handed to the agent, and whether it has landed.

Why one at a time: with a lane busy elsewhere, a CI fix and a review round can both wait in the queue. The
first to land changes the PR's head, and the poller would answer the review threads with that commit — the
CI fix's, which never saw the comments. So while a round is handed and not landed, the poller hands nothing
else for that PR (a red check, review threads, a base merge, a merge all wait); the next round then starts
from the commit the previous one pushed, and a red check on a head about to be replaced costs no round.

A round has landed when the PR's commit changed since it was handed, or its attempt reached the PR without
a code change (``fix_done``); it is dropped when it fails (``PullRequestLoop.fix_failed``). Kept in memory,
like the lanes' queue it mirrors: after a restart nothing is waiting, and nothing blocks the next round.
"""

from __future__ import annotations

from coffee_maker.daemon.state import PriorityState, StateStore


class FixRounds:
    def __init__(self, store: StateStore) -> None:
        self.store = store
        self._handed: dict[str, str | None] = {}  # priority → the PR's commit when its round was handed

    def hand(self, state: PriorityState) -> None:
        self._handed[state.priority] = state.commit_sha
        if state.extra.get("fix_done"):  # an earlier round's: set again by this round's push
            self.store.update(state.priority, extra={"fix_done": None})

    def busy(self, state: PriorityState) -> bool:
        """A round handed for this PR and not landed yet (a landed one is forgotten here)."""
        if state.priority not in self._handed:
            if state.extra.get("replies_due"):  # handed by a daemon that stopped before their fix ran: the
                # threads are offered again, and another round's commit never answers them
                self.store.update(state.priority, extra={"replies_due": None})
            return False
        if state.commit_sha != self._handed[state.priority] or state.extra.get("fix_done"):
            del self._handed[state.priority]
            return False
        return True

    def drop(self, pid: str) -> None:
        """The round ended without landing (failed) or was answered: the next one may be handed."""
        self._handed.pop(pid, None)
