"""Run the real daemon in the caller's thread until a condition holds — for tests and benchmarks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path


def run_daemon_until(project: Path, condition: Callable[[], object], *, timeout_s: float = 60.0,
                     watch: bool = True) -> bool:
    """Run the daemon built as `coffee-maker run` builds it until ``condition()`` is true or
    ``timeout_s`` passes, then stop it cleanly. Returns whether the condition held.

    A condition that raises (e.g. SQLite busy under load) counts as not yet true: the daemon is
    never left running because a look at its state failed.
    """
    from coffee_maker.config import load_config
    from coffee_maker.daemon import wiring
    from coffee_maker.daemon.service import DaemonService

    service = DaemonService(load_config(project), wiring.build_daemon, watch=watch)
    done = threading.Event()

    def holds() -> bool:
        try:
            return bool(condition())
        except Exception:  # noqa: BLE001 — look again; never leave the daemon running
            return False

    def stop_when_true() -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not done.is_set() and not holds():
            done.wait(0.1)
        while service.daemon is None and not done.is_set():
            done.wait(0.05)
        if service.daemon is not None:
            service.daemon.request_stop()

    stopper = threading.Thread(target=stop_when_true, daemon=True)
    stopper.start()
    try:
        service.run()
    finally:
        done.set()
        stopper.join(10)
    return holds()
