"""What comes next, as the daemon sees it: the roadmap planner fed with the daemon's state.

`status`, `roadmap next`, `run --dry-run` and the daemon's own pick all go through
``plan`` (or ``held_by`` + ``explain``), so they name the same priority: merged work
counts as complete, and in-review, blocked, skipped and waiting-retry priorities are
held back, with the reason.
"""

from __future__ import annotations

from coffee_maker.config import LoadedConfig
from coffee_maker.roadmap import Held, Roadmap, Skip, explain
from coffee_maker.types import Priority


def held_by(loaded: LoadedConfig) -> Held:
    """The daemon's state for ``loaded``'s repository; nothing held when the daemon never ran there."""
    from coffee_maker.daemon.state import STATE_DB, StateStore

    db = loaded.state_dir / STATE_DB
    if not db.exists():
        return Held()
    store = StateStore(db)
    try:
        return store.held(loaded.config.daemon.retry_delay_s)
    finally:
        store.close()


def plan(loaded: LoadedConfig, roadmap: Roadmap) -> tuple[Priority | None, list[Skip]]:
    """The priority the daemon would pick next in ``roadmap``, and why each earlier one is passed over."""
    return explain(roadmap, held_by(loaded))
