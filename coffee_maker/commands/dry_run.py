"""`run --dry-run`: what the daemon would do next — the same planning and readiness checks — changing nothing."""

from __future__ import annotations

import time

from coffee_maker.commands._common import console
from coffee_maker.config import LoadedConfig
from coffee_maker.daemon.planning import RoadmapView, plan, resumable, upcoming_retries
from coffee_maker.daemon.state import StateStore
from coffee_maker.daemon.wiring import readiness_check
from coffee_maker.roadmap import Skip, read_roadmap
from coffee_maker.types import Priority
from coffee_maker.vcs import GitManager


def show_dry_run(loaded: LoadedConfig, *, only: str | None = None) -> int:
    """Say what the daemon would do next (or, with ``only``, on that priority) — the same planning and
    readiness checks — without changing anything (no state is written, no edited block is released)."""
    _, roadmap = read_roadmap(loaded.roadmap_path)
    view = RoadmapView(roadmap.priorities, list(roadmap.guidelines), roadmap.warnings)
    delay = loaded.config.daemon.retry_delay_s
    db = loaded.layout.state_db
    store = StateStore(db) if db.exists() else None
    retries = upcoming_retries(store, delay) if store is not None else ()
    resumed = resumable(view, store, delay) if store is not None else None
    chosen: Priority | None
    skipped: list[Skip] = []
    if only:
        chosen = roadmap.resolve(only, loaded.roadmap_path)
    elif resumed is not None:
        chosen = resumed
    else:
        chosen, skipped = plan(loaded, roadmap)
    if store is not None:
        store.close()
    out = console()
    for s in skipped:
        reason = s.reason
        due = next((at for pid, at in retries if pid == s.priority.id), None)
        if due is not None:
            reason = f"its next attempt is due at {time.strftime('%H:%M:%S', time.localtime(due))}"
        out.print(f"[dim]would skip {s.priority.id}: {reason}[/]")
    if chosen is None:
        if retries:
            pid, due = retries[0]
            out.print(f"Dry run: nothing to do now; the daemon would wait for the retry of {pid} at "
                      f"{time.strftime('%H:%M:%S', time.localtime(due))}.")
        else:
            out.print("Dry run: nothing to do; the daemon would wait for roadmap changes.")
        return 0
    problem = readiness_check(loaded, GitManager(loaded), fetch=False)(chosen)
    if problem is not None:
        out.print(f"Dry run: would wait before {chosen.id}: {problem}")
        return 0
    branch = loaded.config.git.branch_template.format(slug=chosen.slug, id=chosen.id_slug)
    verb = "resume" if resumed is not None and chosen.id == resumed.id else "work on"
    out.print(f"Dry run: would {verb} [bold]{chosen.id}: {chosen.title}[/] on branch {branch} "
              f"with the {loaded.config.agent.backend} agent.")
    return 0
