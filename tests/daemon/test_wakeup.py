"""A roadmap change that arrives while the loop is busy is not lost: the idle wait that follows ends at once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from coffee_maker.config import load_config
from coffee_maker.daemon import wiring
from coffee_maker.testing.config_edit import set_config


def test_a_change_during_a_step_wakes_the_following_idle_wait(sandbox: Path) -> None:
    """The watcher's wake-up, set while the loop reads the roadmap, is still set when the loop goes idle."""
    set_config(sandbox / "coffee_maker.toml", "daemon", poll_interval_s=3600)
    wake = threading.Event()
    daemon = wiring.build_daemon(load_config(sandbox), wake)
    reads: list[float] = []
    real_read = daemon.read_roadmap

    def read_roadmap():  # type: ignore[no-untyped-def]
        view = real_read()
        reads.append(time.monotonic())
        if len(reads) == 1:
            wake.set()  # the roadmap changed on disk just after this read: the watcher sets ``wake``
        return view

    daemon.read_roadmap = read_roadmap  # type: ignore[method-assign]
    daemon.pick = lambda *_: None  # type: ignore[method-assign]  # nothing to do: the loop goes idle
    worker = threading.Thread(target=daemon.run, daemon=True)
    worker.start()
    deadline = time.monotonic() + 30
    while len(reads) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    daemon.request_stop()
    worker.join(10)
    assert len(reads) >= 2, "the change seen during the step was dropped: the loop slept the whole poll interval"


def test_a_stop_during_the_heartbeat_is_not_lost(sandbox: Path) -> None:
    """A stop requested after the loop checked for one (while it writes its heartbeat) still ends the idle wait.

    Before the fix the loop cleared its wake-up after that write, so the stop's wake-up was dropped and
    the daemon slept the whole poll interval (an hour here) with SIGTERM already received.
    """
    set_config(sandbox / "coffee_maker.toml", "daemon", poll_interval_s=3600)
    daemon = wiring.build_daemon(load_config(sandbox), threading.Event())
    daemon.pick = lambda *_: None  # type: ignore[method-assign]  # nothing to do: the loop goes idle
    real_set_info = daemon.store.set_info

    def set_info(**fields):  # type: ignore[no-untyped-def]
        real_set_info(**fields)
        if "heartbeat" in fields:
            daemon.request_stop()  # SIGTERM arrives while the heartbeat is written

    daemon.store.set_info = set_info  # type: ignore[method-assign]
    worker = threading.Thread(target=daemon.run, daemon=True)
    worker.start()
    worker.join(30)
    stopped = not worker.is_alive()
    if not stopped:  # free the thread so the test run can end
        daemon.stopping.set()
        daemon.wake.set()
    assert stopped, "the stop was dropped: the loop went to sleep for the whole poll interval"
