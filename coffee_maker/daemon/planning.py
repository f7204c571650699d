"""What the daemon works on next, from the roadmap and its persisted state (pure apart from reading the store).

One function for the loop, `run --dry-run` and `status`, so they always agree: a
priority left mid-way (a crash, a usage limit, a retry now due) goes first; a retry
not yet due waits like a blocked priority, and so do the priorities depending on it;
merged work counts as complete before the person pulls the roadmap change.

`status`, `roadmap next`, `run --dry-run` and the daemon's own pick go through ``plan``
(the roadmap planner fed with ``held_by``), so they name the same priority: in-review,
blocked, skipped and waiting-retry priorities are held back, with the reason.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import structlog

from coffee_maker.config import LoadedConfig
from coffee_maker.daemon.state import ACTIVE, FINISHED, IN_REVIEW, Phase, StateStore
from coffee_maker.errors import CoffeeMakerError
from coffee_maker.roadmap import Held, Roadmap, Skip, explain
from coffee_maker.types import Priority, RoadmapWarning, Status

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RoadmapView:
    """The parsed roadmap as the daemon uses it."""

    priorities: tuple[Priority, ...]
    guidelines: list[tuple[str, str]]
    warnings: tuple[RoadmapWarning, ...] = ()  # the planner holds back a priority a roadmap error touches
    #: Complete in the roadmap on the remote's default branch: another daemon's work, already merged.
    complete_on_remote: frozenset[str] = frozenset()

    def get(self, pid: str) -> Priority | None:
        return next((p for p in self.priorities if p.id == pid), None)


class Picker(Protocol):
    """The planner: the first ready priority, given what is in review, blocked and running."""

    def __call__(self, view: RoadmapView, in_review: frozenset[str], blocked: frozenset[str],
                 running: frozenset[str] = ..., /) -> Priority | None: ...


@dataclass(frozen=True)
class NextWork:
    """The priority to work on (None: nothing), whether it resumes, and the retries still to come."""

    priority: Priority | None
    resumes: bool = False
    retries: tuple[tuple[str, float], ...] = ()  # (priority id, due at epoch seconds), soonest first


def upcoming_retries(store: StateStore, retry_delay_s: float, now: float | None = None) -> tuple[tuple[str, float], ...]:
    now = time.time() if now is None else now
    due = ((s.priority, s.retry_due(retry_delay_s)) for s in store.in_phases({Phase.RETRY}))
    return tuple(sorted(((pid, at) for pid, at in due if at > now), key=lambda item: item[1]))


def effective(view: RoadmapView, store: StateStore) -> RoadmapView:
    """Merged work counts as complete even before the person pulls the roadmap change — this daemon's
    (its state store) and other daemons' (the roadmap on the remote's default branch marks it complete)."""
    finished = store.ids_in(FINISHED) | view.complete_on_remote
    return dataclasses.replace(view, priorities=tuple(
        dataclasses.replace(p, status=Status.COMPLETE) if p.id in finished else p for p in view.priorities
    ))


def resumable(view: RoadmapView, store: StateStore, retry_delay_s: float, now: float | None = None, *,
              running: frozenset[str] = frozenset()) -> Priority | None:
    """A priority left mid-way (crash, usage limit, a retry now due) goes before anything new."""
    return next(iter(_resumable(view, store, retry_delay_s, time.time() if now is None else now, running)), None)


def _resumable(view: RoadmapView, store: StateStore, retry_delay_s: float, now: float,
               running: frozenset[str]) -> list[Priority]:
    found = []
    for state in store.in_phases(ACTIVE | {Phase.RETRY}):
        if state.priority in running:
            continue
        if state.phase is not Phase.RETRY or state.retry_due(retry_delay_s) <= now:
            priority = view.get(state.priority)
            if priority is not None:
                found.append(priority)
            else:
                log.warning("priority in progress is no longer in the roadmap", priority=state.priority)
    return found


def next_work(view: RoadmapView, store: StateStore, *, pick: Picker, retry_delay_s: float,
              now: float | None = None) -> NextWork:
    now = time.time() if now is None else now
    retries = upcoming_retries(store, retry_delay_s, now)
    if (priority := resumable(view, store, retry_delay_s, now)) is not None:
        return NextWork(priority, resumes=True, retries=retries)
    ready = next_ready(view, store, pick=pick, retry_delay_s=retry_delay_s, count=1, now=now)
    return NextWork(ready[0] if ready else None, retries=retries)


def next_ready(view: RoadmapView, store: StateStore, *, pick: Picker, retry_delay_s: float, count: int,
               running: frozenset[str] = frozenset(), now: float | None = None) -> list[Priority]:
    """The next ``count`` priorities to start, none of ``running``: left mid-way first, then the planner's
    picks in roadmap order (a dependency of a running priority is not complete, so its dependents wait)."""
    now = time.time() if now is None else now
    chosen = _resumable(view, store, retry_delay_s, now, running)[:count]
    waiting = frozenset(pid for pid, _ in upcoming_retries(store, retry_delay_s, now))
    planned, in_review, blocked = effective(view, store), store.ids_in(IN_REVIEW), store.ids_in({Phase.BLOCKED})
    while len(chosen) < count:
        busy = running | {p.id for p in chosen}
        picked = pick(planned, in_review, blocked | waiting, busy) if busy else pick(planned, in_review,
                                                                                       blocked | waiting)
        if picked is None or picked.id in busy:
            break
        chosen.append(picked)
    return chosen


def complete_on_remote(loaded: LoadedConfig, remote: str, base: Callable[[], str]) -> frozenset[str]:
    """Ids the roadmap on ``remote``'s default branch marks complete (as of the last fetch): other daemons'
    merged work counts as complete here too. ``base`` names the branch; nothing when it cannot be read."""
    from coffee_maker.proc import run
    from coffee_maker.roadmap import parse_roadmap

    relpath = Path(os.path.relpath(loaded.roadmap_path, loaded.repo)).as_posix()
    if relpath.startswith(".."):
        return frozenset()
    try:
        ref = f"{remote}/{base()}:{relpath}"
    except CoffeeMakerError:
        return frozenset()  # an empty remote: nothing is merged anywhere yet
    shown = run(["git", "show", ref], cwd=loaded.repo, timeout=30)
    if shown.returncode != 0:
        return frozenset()
    return frozenset(p.id for p in parse_roadmap(shown.stdout).priorities if p.status is Status.COMPLETE)


def held_by(loaded: LoadedConfig) -> Held:
    """The daemon's state for ``loaded``'s repository (nothing when the daemon never ran there), and the
    priorities the remote's roadmap marks complete — the same rule as the daemon's ``effective``."""
    from coffee_maker.daemon.stacking import stackable
    from coffee_maker.daemon.state import StateStore
    from coffee_maker.vcs.git import GitManager

    elsewhere = complete_on_remote(loaded, loaded.config.git.remote, GitManager(loaded).default_branch)
    db = loaded.layout.state_db
    if not db.exists():
        return Held(finished=elsewhere)
    store = StateStore(db)
    try:
        held = store.held(loaded.config.daemon.retry_delay_s)
        stacks = stackable(store.all()) if loaded.config.daemon.stack_dependents else frozenset()
        return dataclasses.replace(held, finished=held.finished | elsewhere, stackable=stacks)
    finally:
        store.close()


def plan(loaded: LoadedConfig, roadmap: Roadmap, *, running: frozenset[str] = frozenset()) -> tuple[Priority | None, list[Skip]]:
    """The priority the daemon would pick next in ``roadmap``, and why each earlier one is passed over;
    ``running``: the priorities a running daemon's lanes are working on now (not "next")."""
    return explain(roadmap, dataclasses.replace(held_by(loaded), running=running))


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
