"""What an idle daemon waits for, in words: the next retry, a review, or a roadmap change."""

from __future__ import annotations

import time

from coffee_maker.config.daemon import DaemonSettings
from coffee_maker.daemon.planning import RoadmapView, effective
from coffee_maker.daemon.policy import clock
from coffee_maker.daemon.state import IN_REVIEW, Phase, StateStore
from coffee_maker.daemon.status import DAILY_BUDGET_WAIT
from coffee_maker.roadmap import explain
from coffee_maker.roadmap.model import Roadmap


def retry_times(store: StateStore, settings: DaemonSettings) -> list[float]:
    """When each priority waiting for a retry falls due (epoch seconds)."""
    return [s.retry_due(settings.retry_delay_s) for s in store.in_phases({Phase.RETRY})]


def idle_reason(store: StateStore, settings: DaemonSettings, view: RoadmapView | None, *,
                daily_budget_hit: bool) -> str:
    """What an idle daemon waits for (said once per change); ``view`` is the roadmap as last read."""
    now = time.time()
    if daily_budget_hit:
        return DAILY_BUDGET_WAIT
    upcoming = sorted((s.retry_due(settings.retry_delay_s), s.priority) for s in store.in_phases({Phase.RETRY}))
    upcoming = [(due, pid) for due, pid in upcoming if due > now]
    if upcoming:
        return f"a retry of {upcoming[0][1]} at {clock(upcoming[0][0])}"
    review = [s for s in store.in_phases(IN_REVIEW) if s.pr_number is not None]
    if review:
        return "review of " + ", ".join(f"PR #{s.pr_number} ({s.priority})" for s in review[:5])
    if view is not None:  # say why nothing planned is ready: a dependency not done, a blocked one, a cycle
        skipped = explain(Roadmap(effective(view, store).priorities, ()),
                          in_review=store.ids_in(IN_REVIEW), blocked=store.ids_in({Phase.BLOCKED}))[1]
        waits = [s for s in skipped if s.reason.startswith("waits for")]
        if waits:
            return f"a roadmap change ({waits[0].priority.id} {waits[0].reason})"
    return "a roadmap change (nothing planned is ready)"
