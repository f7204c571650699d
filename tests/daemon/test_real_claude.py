"""One priority end to end with the real Claude Code CLI, played by a local fake Anthropic API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.demo import run_until_settled
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
        config.write_text(config.read_text().replace(
            'backend = "scripted"',
            f'backend = "claude"\nbinary = "{binary}"\nauth = "api_key"\nidle_timeout_s = 60\ntotal_timeout_s = 120'))
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
