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


def chosen_priority(loaded: LoadedConfig, roadmap: Roadmap, query: str) -> Priority:
    """The priority `run --priority QUERY` works on, resolved as every command resolves ids.

    Refused with a sentence when the daemon's state holds it back: blocked or skipped (say how
    to retry), in review, or done — instead of a run that silently does nothing.
    """
    from coffee_maker.errors import UsageError

    priority = roadmap.resolve(query, loaded.roadmap_path)
    held = held_by(loaded)
    pid = priority.id
    if pid in held.blocked or pid in held.skipped:
        from coffee_maker.daemon.state import unblock_hint

        kind = "blocked" if pid in held.blocked else "skipped"
        raise UsageError(f"{pid} is {kind}, so `run --priority` does not start it. {unblock_hint(pid)}")
    if pid in held.in_review:
        raise UsageError(f"{pid} is in review (its pull request is open); the daemon follows the review "
                         "and resumes the agent on requested changes.")
    if pid in held.finished:
        raise UsageError(f"{pid} is done (its pull request was merged).")
    return priority
