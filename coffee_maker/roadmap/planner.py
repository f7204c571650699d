"""Which priority comes next (pure): the first planned one, in file order, whose
dependencies are complete, whose section the parser could delimit, and which the
daemon does not hold back (in review, blocked, skipped, a retry not yet due).

Every command that says what comes next (`status`, `roadmap next`, `run --dry-run`)
and the daemon itself call ``explain`` with the same ``Held`` view of the daemon's
state, so they cannot disagree: merged work counts as complete even before the
person pulls the roadmap change.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from coffee_maker.roadmap.checks import errors
from coffee_maker.roadmap.dependencies import ARROW, cycles
from coffee_maker.roadmap.model import Roadmap
from coffee_maker.types import Priority, Status


@dataclass(frozen=True)
class Skip:
    """A priority the planner passed over, and the sentence that says why (shown by `roadmap next`)."""

    priority: Priority
    reason: str


@dataclass(frozen=True)
class Held:
    """What the daemon's state knows that the roadmap file may not say yet."""

    finished: frozenset[str] = frozenset()  # merged: complete, whatever the local file says
    in_review: frozenset[str] = frozenset()  # a pull request is open
    blocked: frozenset[str] = frozenset()  # failed max_attempts times (or its PR was closed)
    skipped: frozenset[str] = frozenset()  # the person ran `coffee-maker skip`
    retry_at: Mapping[str, float] = field(default_factory=dict)  # a failed attempt's retry, not yet due
    #: Being worked on now (a lane of this daemon, or another daemon's claim): not started twice.
    running: frozenset[str] = frozenset()
    #: Open PRs a dependent may start on top of ([daemon] stack_dependents): such a dependency counts as met
    #: when it is the only one not complete (a branch is cut from one parent, not two).
    stackable: frozenset[str] = frozenset()


def _status_by_id(roadmap: Roadmap, finished: frozenset[str]) -> dict[str, Status]:
    """A duplicated id counts as complete only when every copy is complete."""
    statuses: dict[str, Status] = {}
    for p in roadmap.priorities:
        status = Status.COMPLETE if p.id in finished else p.status
        known = statuses.get(p.id)
        statuses[p.id] = status if known is None or known is Status.COMPLETE else known
    return statuses


def _undelimited(roadmap: Roadmap) -> dict[int, str]:
    """Heading line → why that priority's section cannot be trusted (a roadmap error inside or on it)."""
    found: dict[int, str] = {}
    duplicated: dict[str, list[int]] = {}
    for p in roadmap.priorities:
        duplicated.setdefault(p.id, []).append(p.line)
    for w in errors(roadmap):
        if w.kind == "unclosed_fence":
            for p in roadmap.priorities:
                if p.line <= w.line <= p.end_line:
                    found[p.line] = (f"its section cannot be delimited: the code fence opened at line {w.line} "
                                     "is never closed (see `coffee-maker roadmap check`)")
        elif w.kind == "duplicate_id":
            pid = next((p.id for p in roadmap.priorities if p.line == w.line), None)
            for line in duplicated.get(pid or "", []):
                found[line] = (f"{pid} appears {len(duplicated[pid or ''])} times (lines "
                               f"{', '.join(map(str, duplicated[pid or '']))}); give each copy its own id")
    return found


def _dependency_label(dep: str, status: Status, held: Held) -> str:
    for ids, label in ((held.in_review, "in review"), (held.blocked, "blocked"), (held.skipped, "skipped")):
        if dep in ids:
            return label
    return status.value


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


def explain(
    roadmap: Roadmap, held: Held | None = None, *,
    in_review: frozenset[str] = frozenset(), blocked: frozenset[str] = frozenset(),
) -> tuple[Priority | None, list[Skip]]:
    """The next priority, and why each earlier candidate was skipped."""
    held = held or Held(in_review=in_review, blocked=blocked)
    statuses = _status_by_id(roadmap, held.finished)
    broken = _undelimited(roadmap)
    rings = cycles(roadmap.priorities)
    skipped: list[Skip] = []
    for p in roadmap.priorities:
        if p.id in held.finished:
            continue
        if p.status is Status.UNKNOWN:
            skipped.append(Skip(p, f"status unknown ({p.status_text!r}); write e.g. `**Status**: 📝 Planned`"
                               if p.status_line else "no status; add a `**Status**: 📝 Planned` line"))
            continue
        if p.status is not Status.PLANNED:
            continue
        reason = _held_reason(p, held, broken, rings)
        if reason is None:
            unmet = []
            for dep in p.dependencies:
                status = statuses.get(dep)
                if status is None:
                    unmet.append((dep, f"{dep} (not in the roadmap)"))
                elif status is not Status.COMPLETE:
                    unmet.append((dep, f"{dep} ({_dependency_label(dep, status, held)})"))
            if len(unmet) == 1 and unmet[0][0] in held.stackable:
                unmet = []  # starts stacked on that dependency's open PR
            reason = "waits for " + ", ".join(label for _, label in unmet) if unmet else None
        if reason is not None:
            skipped.append(Skip(p, reason))
            continue
        return p, skipped
    return None, skipped


def _held_reason(p: Priority, held: Held, broken: dict[int, str], rings: dict[str, list[str]]) -> str | None:
    """Why ``p`` cannot start whatever its dependencies say, or None."""
    if p.line in broken:
        return broken[p.line]
    if p.id in held.in_review:
        return "in review (a pull request is open)"
    if p.id in held.running:
        return "being worked on (another lane or daemon)"
    if p.id in held.blocked:
        return f"blocked by the daemon; `coffee-maker retry {p.id}` tries again"
    if p.id in held.skipped:
        return f"skipped (`coffee-maker skip`); `coffee-maker retry {p.id}` takes it back"
    if p.id in held.retry_at:
        return f"a failed attempt is retried at {_clock(held.retry_at[p.id])}"
    if p.id in p.dependencies:
        return "depends on itself; remove it from its **Dependencies** line"
    if p.id in rings:
        return f"in a dependency cycle: {ARROW.join(rings[p.id])}"
    return None


def next_priority(roadmap: Roadmap, held: Held | None = None, *, in_review: frozenset[str] = frozenset(),
                  blocked: frozenset[str] = frozenset()) -> Priority | None:
    """The first planned priority in file order that ``explain`` would pick."""
    return explain(roadmap, held, in_review=in_review, blocked=blocked)[0]
