"""A worktree that disappears under a running attempt (a person's cleanup, `git worktree prune`):
the daemon never runs git anywhere else — above all not in the person's checkout it was started in."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.demo_lanes import answer_first_question, build_lanes_sandbox
from coffee_maker.notify.inbox import Inbox
from coffee_maker.testing.waiting import wait_until
from tests.conftest import git
from tests.daemon.conftest import start_daemon_process


def _waiting(project: Path) -> bool:
    db = project / ".coffee_maker" / "inbox.db"
    return db.exists() and bool(Inbox(db).waiting())


def test_a_vanished_worktree_never_touches_the_persons_checkout(tmp_path: Path) -> None:
    project = build_lanes_sandbox(tmp_path / "s", count=1, lanes=1, asking=[1])  # the agent asks, then writes
    (project / "README.md").write_text("my own edit, not committed\n")
    (project / "notes.txt").write_text("my notes\n")
    before = git(project, "status", "--porcelain", "--untracked-files=all")
    head = git(project, "rev-parse", "HEAD")
    daemon = start_daemon_process(project)  # started in the person's checkout, as `coffee-maker run` is
    try:
        wait_until(lambda: _waiting(project), timeout_s=120, what="the agent's question")
        state = StateStore(project / ".coffee_maker" / "state.db").get("PRIORITY 1")
        assert state is not None and state.workspace
        shutil.rmtree(state.workspace)  # gone while the agent waits; its next writes make a plain folder there
        assert answer_first_question(project)
        wait_until(lambda: (s := StateStore(project / ".coffee_maker" / "state.db").get("PRIORITY 1")) is not None
                   and s.phase in (Phase.RETRY, Phase.BLOCKED, Phase.PR_OPEN), timeout_s=120,
                   what="the attempt to end")
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
    assert git(project, "rev-parse", "HEAD") == head  # no commit on the person's branch
    assert git(project, "status", "--porcelain", "--untracked-files=all") == before  # their work as they left it
    assert (project / "README.md").read_text() == "my own edit, not committed\n"
    state = StateStore(project / ".coffee_maker" / "state.db").get("PRIORITY 1")
    assert state is not None and state.phase is Phase.RETRY and "no longer a git worktree" in state.reason
