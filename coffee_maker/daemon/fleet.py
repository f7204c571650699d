"""What this daemon learns about the other daemons sharing its remote: their merges and their open PRs.

Why a module: several daemons coordinate only through the remote (claims in ``daemon/leases.py``,
the roadmap on the default branch in ``planning.complete_on_remote``), and two questions need a
fresh look there rather than the view of the last fetch — is a priority just claimed already
finished elsewhere, merged or in review (so it is not done twice), and which of the others' PRs are
open now (so the merge check before our PR covers their branches too, ``daemon/conflicts.py``).

A priority can be in review elsewhere yet claimable: its daemon's claim expired (a lease renewal
starved on a loaded machine, a suspend) after its PR opened. Its branch on the remote then holds
the roadmap ticked complete — the last thing an attempt pushes — and the work is not started again;
that daemon, if it lives, goes on following its PR (it keeps its state row, without the claim).
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from coffee_maker.config import LoadedConfig
from coffee_maker.daemon.leases import ClaimKeeper
from coffee_maker.daemon.planning import RoadmapView, complete_on_remote
from coffee_maker.daemon.services import Services
from coffee_maker.daemon.state import ACTIVE, Phase, StateStore
from coffee_maker.errors import CoffeeMakerError
from coffee_maker.types import Priority, PRState

log = structlog.get_logger(__name__)


class OtherDaemons:
    def __init__(self, loaded: LoadedConfig, claims: ClaimKeeper, store: StateStore, services: Services,
                 read_roadmap: Callable[[], RoadmapView], view: Callable[[], RoadmapView]) -> None:
        self.loaded, self.claims, self.store, self.services = loaded, claims, store, services
        self.read_roadmap = read_roadmap  # parsed afresh: what the last fetch says is complete
        self.view = view  # the roadmap as last read: enough to name a priority's branch

    def finished_elsewhere(self, priority: Priority) -> bool:
        """Just claimed, never worked on here: did another daemon finish it — merged since our last fetch,
        or its PR open on a branch whose roadmap says complete?

        The other daemon released its claim once its PR merged (or lost it while in review); our
        roadmap view may predate that, and starting the priority again would make a second PR.
        """
        if not self.claims.enabled or self.store.get(priority.id) is not None:
            return False
        try:
            self.services.git.fetch()
            branch = self.services.git.branch_name(priority)
        except CoffeeMakerError:
            return False  # the claim is ours; the remote will tell next time
        if priority.id in self.read_roadmap().complete_on_remote:  # not the cached view: it predates the fetch
            log.info("another daemon finished this priority; giving its claim back", priority=priority.id)
            return True
        if priority.id in complete_on_remote(self.loaded, self.loaded.config.git.remote, lambda: branch):
            log.info("another daemon's PR for this priority is in review; giving its claim back",
                     priority=priority.id, branch=branch)
            return True
        return False

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

    def note_taken_over(self, pid: str) -> None:
        """Our row says we work on ``pid``, but another daemon holds its claim (ours expired while this daemon
        was stopped or cut off, and that daemon continues from our checkpoint): record that, once."""
        holder = self.claims.holder_elsewhere(pid)
        state = self.store.get(pid)
        if holder is None or state is None or state.phase not in ACTIVE | {Phase.RETRY}:
            return  # nothing of ours under way (or already in review: its PR loop goes on here)
        self.store.transition(pid, Phase.SKIPPED, reason=f"taken over by {holder}, which continues the work",
                              detail="claim taken over by another daemon")
        log.warning("another daemon took this priority over; leaving it to that daemon", priority=pid, holder=holder)

