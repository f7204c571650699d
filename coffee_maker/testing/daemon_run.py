"""Run the real daemon in the caller's thread until a condition holds — for tests, benchmarks and the demo."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

#: What the demo's person answers to the escalated API-key question.
DEMO_ANSWER = "offline"


def run_daemon_until(project: Path, condition: Callable[[], object], *, timeout_s: float = 60.0,
                     watch: bool = True) -> bool:
    """Run the daemon built as `coffee-maker run` builds it until ``condition()`` is true or
    ``timeout_s`` passes, then stop it cleanly. Returns whether the condition held: when it was
    seen, since the daemon may move on (a PR just opened gets its first feedback round) in the
    moment it takes to stop.

    A condition that raises (e.g. SQLite busy under load) counts as not yet true: the daemon is
    never left running because a look at its state failed.
    """
    from coffee_maker.config import load_config
    from coffee_maker.daemon import wiring
    from coffee_maker.daemon.service import DaemonService

    service = DaemonService(load_config(project), wiring.build_daemon, watch=watch)
    done = threading.Event()
    seen = threading.Event()

    def holds() -> bool:
        try:
            return bool(condition())
        except Exception:  # noqa: BLE001 — look again; never leave the daemon running
            return False

    def stop_when_true() -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not done.is_set():
            if holds():
                seen.set()
                break
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
    return seen.is_set() or holds()


def answer_when_asked(project: Path, stop: threading.Event, *, delay_s: float, answer: str = DEMO_ANSWER) -> None:
    """Play the person: wait for an escalated question, then answer it from another process."""
    from coffee_maker.config import load_config
    from coffee_maker.notify.inbox import Inbox

    inbox_path = load_config(project).layout.inbox_db
    while not stop.is_set():
        pending = Inbox(inbox_path).waiting() if inbox_path.exists() else []
        if pending:
            question = pending[0]
            log.info("demo: a question is waiting for a person; answering it in a few seconds",
                     id=question.id, question=question.text)
            if stop.wait(delay_s):
                return
            subprocess.run(  # the real command a person would type in another shell
                [sys.executable, "-m", "coffee_maker", "answer", question.id, answer, "--repo", str(project)],
                check=False, stdin=subprocess.DEVNULL,
            )
            return
        stop.wait(0.2)


def run_until_settled(project: Path, *, settled: int, timeout_s: float, answer_delay_s: float | None = None) -> int:
    """Run the real daemon on ``project`` until ``settled`` priorities have an open PR or are blocked.

    With ``answer_delay_s`` a helper answers the first escalated question through `coffee-maker answer`.
    """
    from coffee_maker.config import load_config
    from coffee_maker.daemon import wiring
    from coffee_maker.daemon.service import DaemonService

    loaded = load_config(project)
    stop = threading.Event()
    service = DaemonService(loaded, wiring.build_daemon, watch=True)
    helpers = [threading.Thread(target=_stop_when_settled, args=(project, service, stop, settled, timeout_s),
                                daemon=True)]
    if answer_delay_s is not None:
        helpers.append(threading.Thread(target=answer_when_asked, args=(project, stop),
                                        kwargs={"delay_s": answer_delay_s}, daemon=True))
    for thread in helpers:
        thread.start()
    try:
        return service.run()
    finally:
        stop.set()


def _stop_when_settled(project: Path, service: object, stop: threading.Event, settled: int, timeout_s: float) -> None:
    from coffee_maker.config import load_config
    from coffee_maker.daemon.state import Phase, StateStore

    db = load_config(project).layout.state_db
    deadline = time.monotonic() + timeout_s
    while not stop.is_set() and time.monotonic() < deadline:
        if db.exists():
            done = [s for s in StateStore(db).all() if s.phase in (Phase.PR_OPEN, Phase.BLOCKED)]
            if len(done) >= settled:
                break
        stop.wait(0.1)
    while getattr(service, "daemon", None) is None and not stop.is_set():
        stop.wait(0.05)
    daemon = getattr(service, "daemon", None)
    if daemon is not None:
        daemon.request_stop()
