"""An exported API key with the default auth = "subscription" and no CLI login: every command says so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coffee_maker.cli import main
from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.demo import build_sandbox
from coffee_maker.errors import AgentAuthError
from coffee_maker.observe.logging import LOG_FILE_NAME
from coffee_maker.testing.fake_anthropic import FakeAnthropic, Turn

pytestmark = pytest.mark.claude_cli
KEEP_THE_KEY = 'auth = "api_key"'


def _claude_project(tmp_path: Path, binary: str, extra: str = "") -> Path:
    project = build_sandbox(tmp_path / "sandbox")
    config = project / "coffee_maker.toml"
    config.write_text(config.read_text().replace(
        'backend = "scripted"', f'backend = "claude"\nbinary = "{binary}"\nidle_timeout_s = 60\n{extra}'))
    return project


def _login_row(project: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, str]]:
    code = main(["doctor", "--json", "--repo", str(project)])
    checks = json.loads(capsys.readouterr().out)["checks"]
    return code, next(c for c in checks if c["name"] == "claude login")


def test_doctor_says_the_key_will_be_removed_and_how_to_keep_it(
        claude_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`doctor` asks the CLI in the agent's environment: not ready, the key is removed, set auth = "api_key";
    with that setting the same key makes it ready."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-exported")
    project = _claude_project(tmp_path, claude_bin)
    code, row = _login_row(project, capsys)
    assert code == 1 and row["status"] == "fail", row
    assert "will be removed" in row["detail"] and KEEP_THE_KEY in row["fix"]
    project_with_key = _claude_project(tmp_path / "second", claude_bin, 'auth = "api_key"')
    _, row = _login_row(project_with_key, capsys)
    assert row["status"] == "ok" and "ANTHROPIC_API_KEY" in row["detail"], row


def test_run_fails_loudly_with_the_same_advice_and_releases_the_priority(
        claude_bin: str, tmp_path: Path, _isolated_home: Path) -> None:
    """`run --once`: the CLI is not logged in → an error in the log, the advice on stderr, exit code 6,
    and `status` shows the priority waiting (retry), not running; no attempt is used up."""
    project = _claude_project(tmp_path, claude_bin)
    with FakeAnthropic([Turn.say("never reached")]) as api:
        env = {**os.environ, **api.cli_env(), "ANTHROPIC_API_KEY": "sk-ant-exported"}
        done = subprocess.run([sys.executable, "-m", "coffee_maker", "run", "--once", "--repo", str(project)],
                              env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert done.returncode == AgentAuthError.exit_code == 6, done.stderr
    assert "will be removed" not in done.stderr  # the daemon's words are the advice sentence:
    assert "removes it from the agent's environment" in done.stderr and KEEP_THE_KEY in done.stderr
    log = [json.loads(line) for line in (project / ".coffee_maker" / LOG_FILE_NAME).read_text().splitlines()]
    errors = [e for e in log if e.get("level") == "error"]
    assert [e["event"] for e in errors] == ["agent authentication failed"], errors
    status = subprocess.run([sys.executable, "-m", "coffee_maker", "status", "--json", "--repo", str(project)],
                            capture_output=True, text=True, timeout=60, check=True)
    data = json.loads(status.stdout)
    assert data["current"] is None and not data["running"]
    assert [(p["id"], p["phase"], p["attempt"]) for p in data["priorities"]] == [("PRIORITY 1", "retry", 0)]
    state = StateStore(project / ".coffee_maker" / "state.db").get("PRIORITY 1")
    assert state is not None and state.phase is Phase.RETRY


def test_agent_run_explains_the_removed_key(claude_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """`agent run` shows the CLI's "Not logged in" and then what to do about the exported key."""
    with FakeAnthropic() as api:
        for key, value in api.cli_env().items():
            monkeypatch.setenv(key, value)
        code = main(["agent", "run", "--prompt", "go", "--binary", claude_bin, "--cwd", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 6 and "Not logged in" in captured.out
    assert "removes it from the agent's environment" in captured.err and KEEP_THE_KEY in captured.err
