"""Two lanes, each running the real Claude Code CLI at once against the local fake Anthropic API.

The fake model plays each priority's session by reading which priority the conversation is
about (its first prompt) and how far it got (the tool results so far), so two CLIs talking to
one server at the same time each get their own script. Every tool call goes through the
daemon's broker: writes inside the lane's worktree and the test command are allowed by rule, a
`git push` is denied by rule — in both lanes, with nobody asked.
"""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.demo_lanes import build_lanes_sandbox
from coffee_maker.testing.config_edit import set_config
from coffee_maker.testing.fake_anthropic import FakeAnthropic, Turn
from coffee_maker.testing.waiting import wait_until
from tests.conftest import git
from tests.daemon.conftest import start_daemon_process


def _priority_of(body: dict[str, Any]) -> int | None:
    first = json.dumps(body.get("messages", [{}])[0])
    for n in (1, 2):
        if f"Implement PRIORITY {n}:" in first:
            return n
    return None


def _tool_results(body: dict[str, Any]) -> int:
    return sum(1 for m in body.get("messages", []) if m.get("role") == "user" and isinstance(m.get("content"), list)
               for block in m["content"] if isinstance(block, dict) and block.get("type") == "tool_result")


class TwoSessions:
    """The fake model's side of both lanes: one script per priority, chosen by the conversation."""

    def __init__(self, worktrees: Path) -> None:
        self.worktrees = worktrees
        self.seen: list[int] = []  # the priority of every main-model request, in arrival order
        self.lock = threading.Lock()

    def script(self, n: int) -> list[Turn]:
        tree = self.worktrees / f"priority-{n}-part-{n}"
        test = (f"import unittest\n\nfrom weather.part{n} import VALUE\n\n\nclass Part{n}Test(unittest.TestCase):\n"
                f"    def test_value(self) -> None:\n        self.assertEqual(VALUE, {n})\n")
        return [
            Turn.tool("Write", {"file_path": str(tree / "weather" / f"part{n}.py"), "content": f"VALUE = {n}\n"}),
            Turn.tool("Write", {"file_path": str(tree / "tests" / f"test_part{n}.py"), "content": test}),
            Turn.tool("Bash", {"command": "python -m unittest discover -s tests -q", "description": "run tests"}),
            Turn.tool("Bash", {"command": "git push origin HEAD:main", "description": "push"}),
            Turn.say(f"Added part {n}.\n\n- [x] `weather/part{n}.py`\n- [x] Unit test in `tests/test_part{n}.py`"),
        ]

    def __call__(self, body: dict[str, Any]) -> Turn | None:
        if not body.get("tools") or (n := _priority_of(body)) is None:
            return None  # the CLI's side requests (titles, summaries): the default turn
        self.seen.append(n)
        turns = self.script(n)
        return turns[min(_tool_results(body), len(turns) - 1)]


@pytest.mark.claude_cli
def test_two_lanes_run_the_real_cli_at_once_with_the_broker_on(tmp_path: Path, claude_bin: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    project = build_lanes_sandbox(tmp_path / "s", count=2, lanes=2)
    config = project / "coffee_maker.toml"
    set_config(config, "agent", backend="claude", binary=claude_bin, auth="api_key", idle_timeout_s=60,
               total_timeout_s=180)
    set_config(config, "daemon", claims=True)
    sessions = TwoSessions(project / ".coffee_maker" / "worktrees")
    db = project / ".coffee_maker" / "state.db"

    def both_open() -> bool:
        states = StateStore(db).all() if db.exists() else []
        return len(states) == 2 and all(s.phase is Phase.PR_OPEN for s in states)

    with FakeAnthropic(responder=sessions) as api:
        for key, value in api.cli_env().items():
            monkeypatch.setenv(key, value)
        daemon = start_daemon_process(project)
        try:
            wait_until(both_open, timeout_s=240, what="both lanes' PRs")
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=60) == 0
        finally:
            if daemon.poll() is None:
                daemon.kill()

    # The two sessions overlapped: the second priority's CLI talked to the model before the first's ended.
    assert sessions.seen.index(2) < len(sessions.seen) - 1 - sessions.seen[::-1].index(1)
    origin = tmp_path / "s" / "origin.git"
    for n in (1, 2):
        assert git(origin, "show", f"coffee-maker/priority-{n}-part-{n}:weather/part{n}.py") == f"VALUE = {n}\n"
    logs = [json.loads(line) for p in (project / "interaction_logs").glob("*.jsonl")
            for line in p.read_text().splitlines()]
    denied = [r for r in logs if r["response"] == "deny" and "git push" in r["question"]]
    assert len(denied) == 2  # the broker stayed on in both lanes
    assert logs and not [r for r in logs if r["user_notified"]]  # and nobody was asked
    assert git(origin, "log", "-1", "--format=%s", "main").startswith("docs: plan 2 priorities")
