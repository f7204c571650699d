"""What this daemon learns about the other daemons sharing its remote: their merges and their open PRs.

Why a module: several daemons coordinate only through the remote (claims in ``daemon/leases.py``,
the roadmap on the default branch in ``planning.complete_on_remote``), and two questions need a
fresh look there rather than the view of the last fetch — is a priority just claimed already
finished elsewhere, merged or in review (so it is not done twice), and which of the others' PRs are
open now (so the merge check before our PR covers their branches too, ``daemon/conflicts.py``).

A priority can be in review elsewhere yet claimable: its daemon's claim expired (the machine died, a
lease renewal starved on a loaded machine, a suspend) after its PR opened. Its branch on the remote then
holds the roadmap ticked complete — the last thing an attempt pushes — and the work is not started
again. When the forge is shared (GitHub, GitLab: it finds the PR by its branch), the daemon that took
the claim over adopts the PR and follows it; the first daemon, if it lives, learns at its next renewal
(or start) that its claim is held elsewhere and leaves the PR alone. With a forge per clone (the local
one) nobody else can see the PR: the claim is given back, and the first daemon goes on following it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

import structlog

from coffee_maker.config import LoadedConfig
from coffee_maker.daemon.leases import ClaimKeeper
from coffee_maker.daemon.planning import RoadmapView, complete_on_remote
from coffee_maker.daemon.services import Services
from coffee_maker.daemon.state import ACTIVE, IN_REVIEW, Phase, StateStore
from coffee_maker.errors import CoffeeMakerError
from coffee_maker.types import Priority, PRState

log = structlog.get_logger(__name__)


#: How long a priority found in review on another daemon's branch is not claimed again: claiming it only to
#: give it back would cost two pushes to the remote every turn. Its PR merging ends it sooner (the roadmap).
IN_REVIEW_RECHECK_S = 300.0


class OtherDaemons:
    def __init__(self, loaded: LoadedConfig, claims: ClaimKeeper, store: StateStore, services: Services,
                 read_roadmap: Callable[[], RoadmapView], view: Callable[[], RoadmapView],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.loaded, self.claims, self.store, self.services = loaded, claims, store, services
        self.read_roadmap = read_roadmap  # parsed afresh: what the last fetch says is complete
        self.view = view  # the roadmap as last read: enough to name a priority's branch
        self.clock = clock
        self._in_review: dict[str, float] = {}  # in review elsewhere → when to look again

    def in_review_elsewhere(self) -> frozenset[str]:
        """Priorities lately found in review on another daemon's branch: not to be claimed again yet."""
        now = self.clock()
        return frozenset(pid for pid, until in self._in_review.items() if until > now)

    def elsewhere(self, priority: Priority) -> Literal["finished", "adopted"] | None:
        """Just claimed, never worked on here: did another daemon finish it — merged since our last fetch,
        or its PR open on a branch whose roadmap says complete?

        "finished": give the claim back; starting the priority again would make a second PR. The other
        daemon released its claim once its PR merged (or lost it while in review); our roadmap view may
        predate that. "adopted": the claim was taken over from a daemon whose lease expired, and the forge
        (shared by both) has its PR open — this daemon follows that PR now (reviews, CI, merge), as if it
        had opened it. None: nothing of it elsewhere; work on it.
        """
        if not self.claims.enabled or self.store.get(priority.id) is not None:
            return None
        try:
            self.services.git.fetch()
            branch = self.services.git.branch_name(priority)
        except CoffeeMakerError:
            return None  # the claim is ours; the remote will tell next time
        if priority.id in self.read_roadmap().complete_on_remote:  # not the cached view: it predates the fetch
            log.info("another daemon finished this priority; giving its claim back", priority=priority.id)
            return "finished"
        if priority.id not in complete_on_remote(self.loaded, self.loaded.config.git.remote, lambda: branch):
            return None
        if (previous := self.claims.previous_owner(priority.id)) is not None and self._adopt(priority, branch,
                                                                                               previous):
            return "adopted"
        log.info("another daemon's PR for this priority is in review; giving its claim back",
                 priority=priority.id, branch=branch, recheck_in_s=IN_REVIEW_RECHECK_S)
        self._in_review[priority.id] = self.clock() + IN_REVIEW_RECHECK_S
        return "finished"

    def _adopt(self, priority: Priority, branch: str, previous: str) -> bool:
        """Follow the dead daemon's open PR from here; False when the forge shows none (a local forge is
        per clone), or one on another base (a stacked PR: its stack is that daemon's to know)."""
        try:
            pr = self.services.forge.find(branch)
            default = self.services.git.default_branch()
            sha = self.services.git.branch_status(branch).remote_sha
        except CoffeeMakerError as exc:
            log.debug("could not look for the PR to adopt", priority=priority.id, error=exc.message)
            return False
        if pr is None or pr.state is not PRState.OPEN or pr.base != default:
            return False
        self.store.reconcile(priority.id, Phase.PR_OPEN, detail=f"adopted from {previous}", branch=branch,
                             pr_number=pr.number, pr_url=pr.url, commit_sha=sha, attempt=1,
                             extra={"base": pr.base, "adopted_from": previous})
        sentence = (f"{priority.id}: PR #{pr.number} was opened by {previous}, whose claim expired; this daemon "
                    "follows it now (reviews, CI, merge).")
        log.info(sentence, priority=priority.id, pr=pr.number, previous_owner=previous)
        self.services.notifier.inform(sentence, priority=priority.id, kind="reconciled")
        return True

    def open_prs(self) -> dict[str, str]:
        """Other daemons' priorities (claimed on the remote) whose PR is open → their branch, freshly fetched."""
        pids = self.claims.held_elsewhere()
        if not pids:
            return {}
        view, found = self.view(), {}
        try:
            self.services.git.fetch()
            for pid in pids:
                if (priority := view.get(pid)) is None:
                    continue
                branch = self.services.git.branch_name(priority)
                pr = self.services.forge.find(branch)
                if pr is not None and pr.state is PRState.OPEN:
                    found[pid] = branch
        except CoffeeMakerError as exc:  # the check is advice: a remote or forge hiccup must not stop the PR
            log.debug("could not read the other daemons' open PRs", error=exc.message)
        return found

    def note_taken_over(self, pid: str, *, look: bool = False) -> None:
        """Our row says we work on ``pid``, but another daemon holds its claim (ours expired while this daemon
        was stopped, cut off or starved, and that daemon continues from our checkpoint, or follows our PR):
        record that, once. ``look``: the claim was lost at a renewal — ask the remote who holds it."""
        state = self.store.get(pid)
        if state is None or state.phase not in ACTIVE | IN_REVIEW | {Phase.RETRY}:
            return  # nothing of ours under way
        if (holder := self.claims.holder_elsewhere(pid, look=look)) is None:
            return
        if state.phase in IN_REVIEW:  # two daemons answering one PR's reviews would do each fix twice
            self.store.reconcile(pid, Phase.SKIPPED, reason=f"its PR is followed by {holder} now, which took the "
                                 "expired claim over", detail="claim taken over by another daemon")
            log.warning("another daemon follows this priority's PR now; leaving it to that daemon", priority=pid,
                        holder=holder)
            return
        self.store.transition(pid, Phase.SKIPPED, reason=f"taken over by {holder}, which continues the work",
                              detail="claim taken over by another daemon")
        log.warning("another daemon took this priority over; leaving it to that daemon", priority=pid, holder=holder)

    def note_reviews_taken_over(self) -> None:
        """At start-up, once the claims of our rows were taken back: leave the PRs another daemon follows now."""
        if not self.claims.enabled:
            return
        for state in self.store.in_phases(IN_REVIEW):
            if state.priority not in self.claims.held:
                self.note_taken_over(state.priority)

