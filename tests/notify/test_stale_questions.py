"""A question belongs to a live daemon: stopped or killed, its question waits for the next run, not for `answer`.

Through the real commands: `coffee-maker run` as a process (stopped with SIGTERM, killed with SIGKILL),
`coffee-maker pending` and `coffee-maker answer` from another shell, the sandbox's scripted agent.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from coffee_maker.demo import build_sandbox
from coffee_maker.notify.inbox import Inbox, PendingQuestion
from tests.daemon.conftest import set_script

QUESTION = "Which forecast service should summarize() call, or should it stay offline?"


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "coffee_maker", *args, "--repo", str(project)],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def _until(condition: Callable[[], Any], what: str, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"gave up waiting for {what}")


class Daemon:
    """`coffee-maker run` in the sandbox, its output kept in a file for failure messages."""

    def __init__(self, project: Path, log: Path) -> None:
        self.log = log
        env = {**os.environ, "COFFEE_MAKER_DAEMON__POLL_INTERVAL_S": "0.5"}
        with log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "coffee_maker", "run", "--repo", str(project)], cwd=project,
                                         env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)

    def end(self, sig: signal.Signals) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=60)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    project = build_sandbox(tmp_path / "sandbox")
    set_script(project, "priority-1.json", {"steps": [
        {"ask": QUESTION},
        {"write": "weather/convert.py", "content": "def c_to_f(c: float) -> float:\n    return c * 9 / 5 + 32\n"},
        {"result": "Added the conversion helper."}]})
    yield project


def _waiting(project: Path) -> list[PendingQuestion]:
    db = project / ".coffee_maker" / "inbox.db"
    return Inbox(db).waiting() if db.exists() else []


def _interactions(project: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for path in sorted((project / "interaction_logs").glob("*.jsonl"))
            for line in path.read_text().splitlines()]


def _asked(project: Path, daemon: Daemon) -> PendingQuestion:
    def asked() -> PendingQuestion | None:
        if daemon.proc.poll() is not None:
            raise AssertionError(f"the daemon exited {daemon.proc.returncode}:\n{daemon.log.read_text()}")
        found = _waiting(project)
        return found[0] if found else None
    question: PendingQuestion = _until(asked, "the daemon to ask its question")
    return question


def _assert_stale(project: Path, qid: str) -> None:
    """`pending` says the question will be asked again; `answer` says nobody waits and fails."""
    listed = _cli(project, "pending")
    assert listed.returncode == 0, listed.stderr
    assert qid in listed.stdout and "will be asked again when the daemon resumes" in listed.stdout
    assert "No questions are waiting." in listed.stdout
    [entry] = json.loads(_cli(project, "pending", "--json").stdout)
    assert (entry["id"], entry["waiting"]) == (qid, False)
    refused = _cli(project, "answer", qid, "offline")
    assert refused.returncode != 0
    assert f"Nobody is waiting for question {qid}" in refused.stderr and "Answered" not in refused.stdout


class TestStaleQuestions:
    def test_a_clean_stop_is_logged_as_stopped_and_the_next_run_asks_again(self, project: Path,
                                                                           tmp_path: Path) -> None:
        """SIGTERM while asking: the log says stopped (not timeout); the next run re-asks under the same id."""
        first = Daemon(project, tmp_path / "daemon.log")
        question = _asked(project, first)
        assert json.loads(_cli(project, "pending", "--json").stdout)[0]["waiting"] is True
        assert first.end(signal.SIGTERM) in (0, 130, 143)
        stopped = [r for r in _interactions(project) if r["question"] == QUESTION]
        assert [(r["interaction_type"], r["response_method"], r["timed_out"]) for r in stopped] == [
            ("stopped", "stopped", False)], stopped
        _assert_stale(project, question.id)

        second = Daemon(project, tmp_path / "daemon.log")
        again = _asked(project, second)
        assert again.id == question.id and again.timeout_at > question.timeout_at
        answered = _cli(project, "answer", question.id, "offline", "--as", "sam")
        assert answered.returncode == 0, answered.stderr
        used = _until(lambda: [r for r in _interactions(project) if r["interaction_type"] == "user_response"],
                      "the answer to be used")
        assert used[0]["response"] == "offline" and used[0]["response_method"] == "person:cli:sam"
        second.end(signal.SIGTERM)
        assert len([q for q in Inbox(project / ".coffee_maker" / "inbox.db").pending()]) == 0

    def test_a_killed_daemons_question_waits_for_the_next_run(self, project: Path, tmp_path: Path) -> None:
        """SIGKILL (no chance to clean up): the dead owner is seen through its lock; the next run re-uses it."""
        first = Daemon(project, tmp_path / "daemon.log")
        question = _asked(project, first)
        first.end(signal.SIGKILL)
        _assert_stale(project, question.id)
        second = Daemon(project, tmp_path / "daemon.log")
        assert _asked(project, second).id == question.id
        assert _cli(project, "answer", question.id, "offline").returncode == 0
        _until(lambda: [r for r in _interactions(project) if r["interaction_type"] == "user_response"],
               "the answer to be used")
        second.end(signal.SIGTERM)
