"""The gate runs the tests the agent wrote with the agent's environment, not the daemon's credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from coffee_maker.config import load_config
from coffee_maker.roadmap import parse_roadmap
from coffee_maker.vcs import GitManager, SafetyGate
from tests.vcs.conftest import ROADMAP, make_repo


def test_test_command_output_carries_no_daemon_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test command that prints its environment (output the agent reads next round) shows no forge or Slack
    token, while a variable named in [agent] pass_env is there."""
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_gate_secret_value")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-gate-secret-value")
    monkeypatch.setenv("PROJECT_FLAVOUR", "mint")
    _, work = make_repo(tmp_path, config='[git]\ntest_command = "env"\n\n[agent]\npass_env = ["PROJECT_FLAVOUR"]\n')
    loaded = load_config(work)
    manager = GitManager(loaded)
    ws = manager.prepare(parse_roadmap(ROADMAP).priorities[0])
    (ws.path / "feature.py").write_text("x = 1\n")
    report = SafetyGate(loaded, manager).check(ws)
    assert report.passed, report.summary
    assert "PROJECT_FLAVOUR=mint" in report.test_output
    assert "ghp_gate_secret_value" not in report.test_output and "xoxb-gate-secret-value" not in report.test_output
