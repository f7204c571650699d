"""`coffee-maker retry` and `skip`: a blocked priority can be tried again, with and without a running daemon."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from coffee_maker.daemon.lock import lock_holder
from coffee_maker.daemon.state import Phase, PriorityState, StateStore
from coffee_maker.testing.config_edit import set_config
from coffee_maker.testing.waiting import wait_until
from tests.conftest import git
from tests.daemon.conftest import set_script

GOOD = {"steps": [{"write": "weather/convert.py", "content": "def c2f(c):\n    return c * 9 / 5 + 32\n"},
                  {"result": "Done."}]}
GOOD_2 = {"steps": [{"write": "weather/summary.py", "content": "def summarize(t):\n    return str(t)\n"},
                    {"result": "Done."}]}
NO_WORK = {"steps": [{"say": "I looked around."}, {"result": "Nothing to change."}]}
ENV = {**os.environ, "COFFEE_MAKER_NOTIFY__TIMEOUT_S": "0.5"}


def cm(repo: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real command, as a person types it."""
    return subprocess.run([sys.executable, "-m", "coffee_maker", *args, *(["--repo", str(repo)] if cwd is None else [])],
                          cwd=cwd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, env=ENV)


def state(repo: Path, pid: str) -> PriorityState | None:
    db = repo / ".coffee_maker" / "state.db"
    if not db.exists():
        return None
    store = StateStore(db)
    try:
        return store.get(pid)
    finally:
        store.close()


@pytest.fixture
def blocked(sandbox: Path) -> Path:
    """A sandbox whose PRIORITY 1 was blocked by `run --once` (one attempt, an agent that changes nothing)."""
    set_config(sandbox / "coffee_maker.toml", "daemon", max_attempts=1, gate_fix_rounds=0)
    set_script(sandbox, "priority-1.json", NO_WORK)
    set_script(sandbox, "priority-2.json", GOOD_2)
    cm(sandbox, "run", "--once")
    found = state(sandbox, "PRIORITY 1")
    assert found is not None and found.phase is Phase.BLOCKED, found
    return sandbox


def test_blocked_priority_says_how_to_retry(blocked: Path) -> None:
    """The notice in the log, the dev log on the branch and `status` all name `coffee-maker retry`."""
    hint = "coffee-maker retry PRIORITY 1"
    status = cm(blocked, "status")
    assert hint in status.stdout, status.stdout
    log = cm(blocked, "logs", "-n", "200").stdout
    assert hint in log
    branch = state(blocked, "PRIORITY 1").branch  # type: ignore[union-attr]
    devlogs = git(blocked, "show", "--name-only", "--format=", str(branch)).split()
    devlog = next(p for p in devlogs if p.startswith("docs/devlogs/"))
    assert hint in git(blocked, "show", f"{branch}:{devlog}")
    assert "Set its status back to 📝 Planned" not in git(blocked, "show", f"{branch}:{devlog}")


def test_run_priority_refuses_a_blocked_one(blocked: Path) -> None:
    """`run --priority 1` (the bare number, as `roadmap show 1`) says the priority is blocked and how to retry."""
    result = cm(blocked, "run", "--priority", "1")
    assert result.returncode != 0
    assert "PRIORITY 1 is blocked" in result.stderr and "coffee-maker retry PRIORITY 1" in result.stderr
    assert "Traceback" not in result.stderr
    assert state(blocked, "PRIORITY 1").phase is Phase.BLOCKED  # type: ignore[union-attr]


def test_retry_without_a_daemon(blocked: Path) -> None:
    """`retry 1` resets the attempts; the next `run --once` works on it again and opens its PR."""
    result = cm(blocked, "retry", "1")
    assert result.returncode == 0 and "PRIORITY 1 will be tried again" in result.stdout, result
    after = state(blocked, "PRIORITY 1")
    assert after is not None and after.phase is Phase.PLANNED and after.attempt == 0
    assert "PRIORITY 1" in cm(blocked, "roadmap", "next").stdout
    set_script(blocked, "priority-1.json", GOOD)
    cm(blocked, "run", "--once")
    done = state(blocked, "PRIORITY 1")
    assert done is not None and done.phase is Phase.PR_OPEN and done.attempt == 1
    again = cm(blocked, "retry", "PRIORITY 1")
    assert again.returncode == 1 and "not blocked" in again.stderr


def test_retry_wakes_a_running_daemon(blocked: Path) -> None:
    """With the daemon running (idle, next poll an hour away) `retry` makes it work on the priority at once."""
    config = blocked / "coffee_maker.toml"
    set_config(config, "daemon", poll_interval_s=3600)
    set_script(blocked, "priority-1.json", GOOD)
    daemon = subprocess.Popen([sys.executable, "-m", "coffee_maker", "run", "--repo", str(blocked)], cwd=blocked,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    try:
        wait_until(lambda: lock_holder(blocked / ".coffee_maker" / "daemon.lock") == daemon.pid, timeout_s=30,
                 what="the daemon to start")
        wait_until(lambda: (s := state(blocked, "PRIORITY 2")) is not None and s.phase is Phase.PR_OPEN,
                 timeout_s=60, what="PRIORITY 2's PR")
        result = cm(blocked, "retry", "1")
        assert result.returncode == 0 and f"pid {daemon.pid}" in result.stdout, result
        wait_until(lambda: (s := state(blocked, "PRIORITY 1")) is not None and s.phase is Phase.PR_OPEN,
                 timeout_s=60, what="the retried PRIORITY 1 to reach a PR")
    finally:
        cm(blocked, "stop")
        daemon.wait(30)


def test_editing_a_blocked_entry_retries_it(blocked: Path) -> None:
    """A blocked priority whose roadmap section the person edited is tried again, attempts reset."""
    roadmap = blocked / "docs" / "ROADMAP.md"
    roadmap.write_text(roadmap.read_text().replace(
        "Add Celsius/Fahrenheit conversion functions", "Add Celsius/Fahrenheit conversion functions (a clearer goal)"))
    set_script(blocked, "priority-1.json", GOOD)
    cm(blocked, "run", "--once")
    after = state(blocked, "PRIORITY 1")
    assert after is not None and after.phase is Phase.PR_OPEN and after.attempt == 1


def test_skip_and_take_back(sandbox: Path) -> None:
    """`skip 1` passes over PRIORITY 1 (status and next say so); `retry 1` takes it back."""
    result = cm(sandbox, "skip", "1")
    assert result.returncode == 0 and "PRIORITY 1 is skipped" in result.stdout, result
    nxt = cm(sandbox, "roadmap", "next")
    assert "skipped PRIORITY 1" in nxt.stdout and "Next: PRIORITY 2" in nxt.stdout
    assert "PRIORITY 2" in cm(sandbox, "status").stdout.split("next:")[1]
    dry = cm(sandbox, "run", "--dry-run")
    assert "would work on PRIORITY 2" in dry.stdout
    assert cm(sandbox, "retry", "1").returncode == 0
    assert "Next: PRIORITY 1" in cm(sandbox, "roadmap", "next").stdout


def test_unknown_id_is_one_sentence(sandbox: Path) -> None:
    """`retry 42` names the roadmap and exits 2, without a traceback."""
    result = cm(sandbox, "retry", "42")
    assert result.returncode == 2 and "PRIORITY 42 is not a priority" in result.stderr
    assert "Traceback" not in result.stderr
