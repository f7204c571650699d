"""Which priority comes next (pure): the first planned one, in file order, whose
dependencies are complete and which the daemon does not hold as in review or blocked."""

from __future__ import annotations

from dataclasses import dataclass

from coffee_maker.roadmap.model import Roadmap
from coffee_maker.types import Priority, Status


@dataclass(frozen=True)
class Skip:
    """A priority the planner passed over, and the sentence that says why (shown by `roadmap next`)."""

    priority: Priority
    reason: str


def _status_by_id(roadmap: Roadmap) -> dict[str, Status]:
    """A duplicated id counts as complete only when every copy is complete."""
    statuses: dict[str, Status] = {}
    for p in roadmap.priorities:
        known = statuses.get(p.id)
        statuses[p.id] = p.status if known is None or known is Status.COMPLETE else known
    return statuses


def explain(
    roadmap: Roadmap, *, in_review: frozenset[str] = frozenset(), blocked: frozenset[str] = frozenset()
) -> tuple[Priority | None, list[Skip]]:
    """The next priority, and why each earlier candidate was skipped."""
    statuses = _status_by_id(roadmap)
    skipped: list[Skip] = []
    for p in roadmap.priorities:
        if p.status is Status.UNKNOWN:
            skipped.append(Skip(p, f"status unknown ({p.status_text!r}); write e.g. `**Status**: 📝 Planned`"
                               if p.status_line else "no status; add a `**Status**: 📝 Planned` line"))
            continue
        if p.status is not Status.PLANNED:
            continue
        if p.id in in_review:
            skipped.append(Skip(p, "in review (a pull request is open)"))
            continue
        if p.id in blocked:
            skipped.append(Skip(p, "blocked by the daemon"))
            continue
        unmet = []
        for dep in p.dependencies:
            if dep == p.id:
                continue
            status = statuses.get(dep)
            if status is None:
                unmet.append(f"{dep} (not in the roadmap)")
            elif status is not Status.COMPLETE:
                unmet.append(f"{dep} ({'in review' if dep in in_review else status.value})")
        if unmet:
            skipped.append(Skip(p, "waits for " + ", ".join(unmet)))
            continue
        return p, skipped
    return None, skipped


def next_priority(
    roadmap: Roadmap, *, in_review: frozenset[str] = frozenset(), blocked: frozenset[str] = frozenset()
) -> Priority | None:
    """The first planned priority in file order with every dependency complete, not in review or blocked."""
    return explain(roadmap, in_review=in_review, blocked=blocked)[0]
