"""Dependency problems that leave a priority waiting forever: itself, a missing id, a cycle.

Only priorities that are not complete matter: a finished priority's dependencies are
history. Each problem becomes a roadmap warning that `roadmap check` reports as an
error, with the chain spelled out ("PRIORITY 1 → PRIORITY 2 → PRIORITY 1").
"""

from __future__ import annotations

from collections.abc import Sequence

from coffee_maker.types import Priority, RoadmapWarning, Status

ARROW = " → "


def cycles(priorities: Sequence[Priority]) -> dict[str, list[str]]:
    """Each priority on a dependency cycle (self-dependencies aside) → the cycle, starting and ending with it."""
    deps = {p.id: [d for d in p.dependencies if d != p.id] for p in priorities}
    order = {pid: index for index, pid in enumerate(deps)}
    found: dict[str, list[str]] = {}
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(pid: str) -> None:
        state[pid] = 1
        path.append(pid)
        for dep in deps.get(pid, ()):
            if dep not in deps:
                continue
            if state.get(dep) == 1:
                loop = path[path.index(dep):]
                start = min(loop, key=order.__getitem__)  # the same cycle reads the same from anywhere
                turn = loop.index(start)
                ring = loop[turn:] + loop[:turn]
                for index, member in enumerate(ring):
                    found.setdefault(member, ring[index:] + ring[:index] + [member])
            elif dep not in state:
                visit(dep)
        path.pop()
        state[pid] = 2

    for pid in deps:
        if pid not in state:
            visit(pid)
    return found


def dependency_warnings(priorities: Sequence[Priority]) -> list[RoadmapWarning]:
    """Self-dependencies, dependencies on ids not in the roadmap, and cycles, among open priorities."""
    known = {p.id for p in priorities}
    open_ids = {p.id for p in priorities if p.status is not Status.COMPLETE}
    line_of: dict[str, int] = {}
    for p in priorities:
        line_of.setdefault(p.id, p.line)
    warnings: list[RoadmapWarning] = []
    for p in priorities:
        if p.status is Status.COMPLETE:
            continue
        if p.id in p.dependencies:
            warnings.append(RoadmapWarning(p.line, "self_dependency",
                                           f"{p.id} depends on itself; remove it from its **Dependencies** line"))
        missing = [d for d in p.dependencies if d not in known]
        if missing:
            warnings.append(RoadmapWarning(p.line, "missing_dependency",
                                           f"{p.id} depends on {', '.join(missing)}, which "
                                           f"{'is' if len(missing) == 1 else 'are'} not in the roadmap"))
    reported: set[frozenset[str]] = set()
    for pid, ring in cycles(priorities).items():
        members = frozenset(ring)
        if members in reported or not members & open_ids:
            continue
        reported.add(members)
        warnings.append(RoadmapWarning(line_of[pid], "dependency_cycle",
                                       f"dependency cycle: {ARROW.join(ring)}; none of them can start"))
    return warnings
