"""`coffee-maker retry ID` and `coffee-maker skip ID` — the person's say over a blocked priority.

Both write the daemon's state database (SQLite in WAL mode, so a running daemon reads
the change at its next step) and then nudge a running daemon with SIGUSR1 so an idle
one does not wait for its next poll. Without a daemon the change waits for the next `run`.
"""

from __future__ import annotations

import argparse
import os
import signal
from typing import TYPE_CHECKING

from coffee_maker.commands import _common
from coffee_maker.config import LoadedConfig
from coffee_maker.errors import CoffeeMakerError, RoadmapError, UsageError
from coffee_maker.roadmap import normalise_id, read_roadmap

if TYPE_CHECKING:
    from coffee_maker.daemon.state import StateStore

_ID_HELP = "the priority: 'PRIORITY 2', '2' or 'US-062' (as `roadmap list` shows)"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    retry = sub.add_parser(
        "retry", parents=[common], help="try a blocked, skipped or waiting priority again (attempts reset)",
        description="Move a priority out of blocked, skipped or a waiting retry: its attempt count starts again "
                    "at zero and the daemon picks it when its turn comes (at once if the daemon is running and "
                    "idle). Editing a blocked priority's roadmap entry retries it too.")
    retry.add_argument("id", metavar="ID", help=_ID_HELP)
    retry.set_defaults(func=lambda a: retry_priority(_common.load_for_state(a), a.id))
    skip = sub.add_parser(
        "skip", parents=[common], help="let the daemon pass over a priority (until `retry`)",
        description="Mark a priority as skipped: the daemon does not work on it (priorities that depend on it "
                    "wait) until `coffee-maker retry ID` takes it back. The roadmap file is not changed.")
    skip.add_argument("id", metavar="ID", help=_ID_HELP)
    skip.set_defaults(func=lambda a: skip_priority(_common.load_for_state(a), a.id))


def _priority_id(loaded: LoadedConfig, query: str) -> str:
    """The canonical id: from the roadmap when it can be read, else the id as typed, normalised."""
    try:
        _, roadmap = read_roadmap(loaded.roadmap_path)
    except RoadmapError:
        return normalise_id(query)
    return roadmap.resolve(query, loaded.roadmap_path).id


def _store(loaded: LoadedConfig) -> StateStore:
    from coffee_maker.daemon.state import StateStore

    return StateStore(loaded.layout.state_db)


def _nudge(loaded: LoadedConfig) -> str:
    """Wake a running daemon; the sentence that says what happens next."""
    from coffee_maker.daemon.lock import lock_holder

    pid = lock_holder(loaded.layout.lock)
    if pid is None or pid <= 0:
        return "The daemon is not running; `coffee-maker run` picks it up."
    try:
        os.kill(pid, signal.SIGUSR1)
    except OSError:
        return f"The running daemon (pid {pid}) picks it up at its next step."
    return f"Told the running daemon (pid {pid})."


def retry_priority(loaded: LoadedConfig, query: str) -> int:
    from coffee_maker.daemon.state import RETRYABLE, Phase

    pid = _priority_id(loaded, query)
    store = _store(loaded)
    try:
        state = store.get(pid)
        if state is None or state.phase is Phase.PLANNED:
            _common.console().print(f"{pid} is not blocked, skipped or waiting for a retry: nothing to do "
                                    "(see `coffee-maker roadmap next` for why it is or is not next).")
            return 0
        if state.phase not in RETRYABLE:
            raise CoffeeMakerError(f"{pid} is {state.phase.value.replace('_', ' ')}, not blocked, skipped or "
                                   "waiting for a retry; there is nothing to retry.")
        store.retry(pid)
    finally:
        store.close()
    was = state.phase.value.replace("retry", "waiting for a retry")
    if state.attempt:
        was += f" after {state.attempt} failed attempt{'s' if state.attempt != 1 else ''}"
    _common.console().print(f"{pid} will be tried again (was {was}; the attempt count starts again). "
                            f"{_nudge(loaded)}")
    return 0


def skip_priority(loaded: LoadedConfig, query: str) -> int:
    from coffee_maker.daemon.lock import lock_holder
    from coffee_maker.daemon.state import ACTIVE, SKIPPABLE, Phase

    pid = _priority_id(loaded, query)
    store = _store(loaded)
    try:
        state = store.get(pid)
        phase = state.phase if state else Phase.PLANNED
        if phase is Phase.SKIPPED:
            _common.console().print(f"{pid} is already skipped (`coffee-maker retry {pid}` takes it back).")
            return 0
        if phase in ACTIVE and lock_holder(loaded.layout.lock) is not None:
            raise UsageError(f"The daemon is working on {pid} right now; stop it first (`coffee-maker stop`), "
                             "then skip.")
        if phase not in SKIPPABLE:
            raise CoffeeMakerError(f"{pid} is {phase.value.replace('_', ' ')}: its work is out for review or "
                                   "done, so there is nothing to skip (close its pull request to stop it).")
        store.skip(pid)
    finally:
        store.close()
    _common.console().print(f"{pid} is skipped: the daemon passes over it, and priorities that depend on it wait. "
                            f"`coffee-maker retry {pid}` takes it back. {_nudge(loaded)}")
    return 0
