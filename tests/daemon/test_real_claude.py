"""One priority end to end with the real Claude Code CLI, played by a local fake Anthropic API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import structlog

from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.testing.config_edit import set_config
from coffee_maker.testing.daemon_run import run_until_settled
from coffee_maker.testing.fake_anthropic import FakeAnthropic, Turn
from tests.conftest import git

CONVERT = "def celsius_to_fahrenheit(c):\n    return c * 9 / 5 + 32\n"
TEST = ("import unittest\nfrom weather.convert import celsius_to_fahrenheit\n\n\nclass T(unittest.TestCase):\n"
        "    def test_boiling(self):\n        self.assertEqual(celsius_to_fahrenheit(100), 212)\n")


@pytest.mark.claude_cli
def test_daemon_with_the_real_claude_cli(sandbox: Path, monkeypatch: pytest.MonkeyPatch, claude_bin: str) -> None:
    """The CLI edits, runs the tests (allowed by rule), tries to push (denied by rule); the daemon opens the PR."""
    binary = claude_bin
    roadmap = sandbox / "docs" / "ROADMAP.md"
    roadmap.write_text(roadmap.read_text().split("## PRIORITY 2")[0])  # one priority is enough here
    git(sandbox, "commit", "-qam", "docs: one priority")
    git(sandbox, "push", "-q")
    worktree = sandbox / ".coffee_maker" / "worktrees" / "priority-1-temperature-conversion-helpers"
    turns = [
        Turn.tool("Write", {"file_path": str(worktree / "weather" / "convert.py"), "content": CONVERT}),
        Turn.tool("Write", {"file_path": str(worktree / "tests" / "test_convert.py"), "content": TEST}),
        Turn.tool("Bash", {"command": "python -m unittest discover -s tests -q", "description": "run tests"}),
        Turn.tool("Bash", {"command": "git push origin HEAD:main", "description": "push"}),
        Turn.say("Added the conversion with a test; the push was refused, so I left it to the daemon."),
    ]
    with FakeAnthropic(turns) as api:
        for key, value in api.cli_env().items():
            monkeypatch.setenv(key, value)
        config = sandbox / "coffee_maker.toml"
        set_config(config, "agent", backend="claude", binary=str(binary), auth="api_key", idle_timeout_s=60,
                   total_timeout_s=120)
        run_until_settled(sandbox, settled=1, timeout_s=120)
        requests = api.model_requests
    state = StateStore(sandbox / ".coffee_maker" / "state.db").get("PRIORITY 1")
    assert state is not None and state.phase is Phase.PR_OPEN, state
    branch = "coffee-maker/priority-1-temperature-conversion-helpers"
    assert git(sandbox.parent / "origin.git", "show", f"{branch}:weather/convert.py") == CONVERT
    assert git(sandbox.parent / "origin.git", "log", "-1", "--format=%s", "main").startswith("docs: one priority")
    denial = json.dumps(requests[-1])
    assert "The daemon pushes and opens the pull request itself" in denial  # the model saw the rule's message
    logs = [json.loads(line) for p in (sandbox / "interaction_logs").glob("*.jsonl") for line in p.read_text().splitlines()]
    assert any(r["response"] == "deny" and "git push" in r["question"] for r in logs)
    assert state.session_id and state.cost_usd > 0


def _daemon(project: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "coffee_maker", "run", "--repo", str(project)], cwd=project,
                            env={**os.environ, **env}, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _processes_in(directory: Path) -> list[int]:
    """Live processes whose working directory is inside ``directory`` (the agent CLI in its worktree)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.readlink(entry / "cwd").startswith(str(directory)):
                if (entry / "stat").read_text().split(") ", 1)[1].split()[0] != "Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def _wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.claude_cli
@pytest.mark.parametrize("transcript_lost", [False, True], ids=["resumed", "transcript-lost"])
def test_a_daemon_killed_mid_session_resumes_that_session(sandbox: Path, claude_bin: str, _isolated_home: Path,
                                                          transcript_lost: bool) -> None:
    """SIGKILL while the CLI waits on the model: the session id is already in the state DB, and the
    restarted daemon continues that session (--resume: the model sees the first prompt again) instead
    of starting over; the priority then reaches its PR. When the CLI's transcript is gone, the daemon
    starts a new session with the whole task instead of failing the attempt."""
    roadmap = sandbox / "docs" / "ROADMAP.md"
    roadmap.write_text(roadmap.read_text().split("## PRIORITY 2")[0])
    git(sandbox, "commit", "-qam", "docs: one priority")
    git(sandbox, "push", "-q")
    worktree = sandbox / ".coffee_maker" / "worktrees" / "priority-1-temperature-conversion-helpers"
    stalled: list[dict[str, Any]] = []

    def first_turn_hangs(body: dict[str, Any]) -> Turn | None:
        if body.get("tools") and not stalled:
            stalled.append(body)
            return Turn.stall()  # the daemon dies while the CLI waits for this answer
        return None

    turns = [Turn.tool("Write", {"file_path": str(worktree / "weather" / "convert.py"), "content": CONVERT}),
             Turn.tool("Write", {"file_path": str(worktree / "tests" / "test_convert.py"), "content": TEST}),
             Turn.say("Added the conversion with a test.")]
    config = sandbox / "coffee_maker.toml"
    set_config(config, "agent", backend="claude", binary=str(claude_bin), auth="api_key", idle_timeout_s=60,
               total_timeout_s=120)
    db = sandbox / ".coffee_maker" / "state.db"
    with FakeAnthropic(turns, responder=first_turn_hangs) as api:
        env = {**api.cli_env(), "COFFEE_MAKER_DAEMON__POLL_INTERVAL_S": "0.5"}
        daemon = _daemon(sandbox, env)
        try:
            _wait_for(lambda: bool(stalled), 60, "the first model request")
            # The CLI names its session before it asks the model; under load the daemon may read that line
            # a moment after the request arrived here. Killed before it did, there would be nothing to resume.
            _wait_for(lambda: bool((s := StateStore(db).get("PRIORITY 1")) and s.session_id), 30,
                      "the session id in the state DB")
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(30)
        finally:
            if daemon.poll() is None:
                daemon.kill()
        # The CLI, told by PDEATHSIG to stop, writes its transcript as it exits: let it finish.
        _wait_for(lambda: not _processes_in(sandbox), 30, "the orphaned CLI to exit")
        killed = StateStore(db).get("PRIORITY 1")
        assert killed is not None and killed.phase is Phase.AGENT_RUNNING
        assert killed.session_id
        first_prompt = json.dumps(stalled[0]["messages"][0])
        if transcript_lost:
            for transcript in (_isolated_home / ".claude" / "projects").rglob("*.jsonl"):
                transcript.unlink()
        daemon = _daemon(sandbox, env)
        try:
            _wait_for(lambda: (s := StateStore(db).get("PRIORITY 1")) is not None and s.phase is Phase.PR_OPEN,
                      90, "the PR after the restart")
        finally:
            daemon.terminate()
            daemon.wait(60)
        resumed = api.model_requests[1]
    state = StateStore(db).get("PRIORITY 1")
    assert state is not None and state.attempt == 1
    if transcript_lost:
        assert "# Implement PRIORITY 1" in json.dumps(resumed["messages"][0])  # a new session, the whole task
        assert state.session_id and state.session_id != killed.session_id
    else:
        assert json.dumps(resumed["messages"][0]) == first_prompt  # the same conversation, continued
        assert "The previous session was interrupted" in json.dumps(resumed["messages"])
        assert state.session_id == killed.session_id
    assert git(sandbox.parent / "origin.git", "show",
               "coffee-maker/priority-1-temperature-conversion-helpers:weather/convert.py") == CONVERT


@pytest.mark.claude_cli
def test_a_rate_limit_without_reset_backs_off_briefly_and_resumes_the_session(
        sandbox: Path, monkeypatch: pytest.MonkeyPatch, claude_bin: str) -> None:
    """The API answers 429 (no retry-after) three times: the daemon waits 0.2 s, 0.4 s, then the 0.5 s ceiling —
    not the fixed usage_limit_backoff_s each time — resuming the same session, which then finishes the work."""
    roadmap = sandbox / "docs" / "ROADMAP.md"
    roadmap.write_text(roadmap.read_text().split("## PRIORITY 2")[0])
    git(sandbox, "commit", "-qam", "docs: one priority")
    git(sandbox, "push", "-q")
    worktree = sandbox / ".coffee_maker" / "worktrees" / "priority-1-temperature-conversion-helpers"
    turns = [Turn.rate_limited(), Turn.rate_limited(), Turn.rate_limited(),
             Turn.tool("Write", {"file_path": str(worktree / "weather" / "convert.py"), "content": CONVERT}),
             Turn.tool("Write", {"file_path": str(worktree / "tests" / "test_convert.py"), "content": TEST}),
             Turn.say("Added the conversion with a test.")]
    config = sandbox / "coffee_maker.toml"
    set_config(config, "agent", backend="claude", binary=str(claude_bin), auth="api_key", idle_timeout_s=60,
               total_timeout_s=120)
    set_config(config, "daemon", rate_limit_backoff_start_s=0.2, usage_limit_backoff_s=0.5)
    with FakeAnthropic(turns) as api:
        for key, value in api.cli_env().items():
            monkeypatch.setenv(key, value)
        with structlog.testing.capture_logs() as log:
            run_until_settled(sandbox, settled=1, timeout_s=120)
        requests = api.model_requests
    pauses = [(e["limit"], e["wait_s"], e["consecutive"]) for e in log if e["event"] == "paused for a limit"]
    assert pauses == [("rate_limit", 0.2, 1), ("rate_limit", 0.4, 2), ("rate_limit", 0.5, 3)]
    state = StateStore(sandbox / ".coffee_maker" / "state.db").get("PRIORITY 1")
    assert state is not None and state.phase is Phase.PR_OPEN and state.attempt == 1
    assert len(requests) == 6
    # The work after the limit lifted continued the conversation: the task is in it once, not started over.
    assert json.dumps(requests[-1]["messages"]).count("# Implement PRIORITY 1") == 1
    assert len({e["session_id"] for e in log if e["event"] == "agent session ended"}) == 1  # one session, resumed
