"""Which roadmap warnings are errors: the ones that change what the daemon would do.

- ``unclosed_fence``: everything after the fence is hidden from the parser, so
  priorities below it silently disappear.
- ``duplicate_id`` when a copy of the id is not complete: the planner and the editor
  could pick the wrong section. Duplicates whose copies are all complete are history
  and stay warnings.
- a dependency problem of a priority not yet complete (``self_dependency``,
  ``missing_dependency``, ``dependency_cycle``): it can never start.
"""

from __future__ import annotations

from coffee_maker.roadmap.model import Roadmap
from coffee_maker.types import RoadmapWarning, Status

#: Warning kinds that are always errors.
ALWAYS_ERRORS = frozenset({"unclosed_fence", "self_dependency", "missing_dependency", "dependency_cycle"})


def errors(roadmap: Roadmap) -> list[RoadmapWarning]:
    """The warnings of ``roadmap`` that `coffee-maker roadmap check` fails on (exit 1)."""
    open_ids = {p.id for p in roadmap.priorities if p.status is not Status.COMPLETE}
    id_at = {p.line: p.id for p in roadmap.priorities}  # a duplicate_id warning sits on its heading
    return [w for w in roadmap.warnings
            if w.kind in ALWAYS_ERRORS or (w.kind == "duplicate_id" and id_at.get(w.line) in open_ids)]
