"""`coffee-maker agent run`, with the scripted backend and the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coffee_maker.cli import main
from coffee_maker.commands.agent_cmd import EXIT_CODES
from coffee_maker.testing.fake_anthropic import FakeAnthropic, Turn
from coffee_maker.types import OutcomeKind


def script(tmp_path: Path, steps: list[dict[str, object]]) -> str:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(steps))
    return str(path)


def test_json_lines_and_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints one object per line with a type; --allow rules decide first, then the configured rules
    (a network download would need a person, so it is denied); the outcome comes last."""
    steps = [{"write": "a.txt", "content": "x", "ask_permission": True},
             {"run": "wget -q -O b.txt http://127.0.0.1:9/", "ask_permission": True}, {"say": "done"}]
    code = main(["agent", "run", "--prompt", "go", "--backend", "scripted", "--script", script(tmp_path, steps),
                 "--cwd", str(tmp_path), "--allow", "Write", "--json"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and all("type" in line for line in lines)
    assert lines[-1]["type"] == "outcome" and lines[-1]["kind"] == "success"
    assert (tmp_path / "a.txt").exists() and not (tmp_path / "b.txt").exists()
    assert "permission_denied" in [line["type"] for line in lines]
    denied = [line for line in lines if line["type"] == "decision" and line.get("decision", {}).get("kind") == "deny"]
    assert denied and denied[0]["decision"]["method"] == "rule:network-install"


def test_usage_limit_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each outcome kind has its own exit code (usage limit → 3)."""
    code = main(["agent", "run", "--prompt", "go", "--backend", "scripted", "--cwd", str(tmp_path),
                 "--script", script(tmp_path, [{"usage_limit": "Claude AI usage limit reached|1924992000"}])])
    out = capsys.readouterr().out
    assert code == EXIT_CODES[OutcomeKind.USAGE_LIMIT] == 3 and "resets 2031" in out
    assert len(set(EXIT_CODES.values())) == len(EXIT_CODES)


def test_missing_binary_is_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing agent CLI is a known error: one line on stderr, exit 1."""
    code = main(["agent", "run", "--prompt", "go", "--binary", str(tmp_path / "nope"), "--cwd", str(tmp_path)])
    assert code == 1 and "Cannot start Claude Code" in capsys.readouterr().err


@pytest.mark.claude_cli
def test_real_cli_with_rules_and_answer(claude_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Against the real CLI: Bash(touch:*) allowed, rm denied by --deny, the final question answered with --answer."""
    turns = [Turn.tool("Bash", {"command": "touch made.txt", "description": "x"}),
             Turn.tool("Bash", {"command": "rm -f made.txt", "description": "x"}),
             Turn.say("Shall I continue?"), Turn.say("Continued.")]
    with FakeAnthropic(turns) as api:
        for key, value in api.cli_env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("COFFEE_MAKER_AGENT__AUTH", "api_key")
        code = main(["agent", "run", "--prompt", "go", "--binary", claude_bin, "--cwd", str(tmp_path),
                     "--allow", "Bash(touch:*)", "--deny", "Bash(rm:*)", "--answer", "yes please"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert (tmp_path / "made.txt").exists()
    assert "[permission_denied] Bash" in out and "[outcome] success" in out and "yes please" in out


@pytest.mark.claude_cli
def test_real_cli_shell_is_judged_part_by_part(claude_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Against the real CLI with only the configured rules: `cd sub && touch` runs, a token print is refused."""
    (tmp_path / "sub").mkdir()
    turns = [Turn.tool("Bash", {"command": "cd sub && touch made.txt && ls | sort", "description": "x"}),
             Turn.tool("Bash", {"command": "echo $GITHUB_TOKEN > leak.txt", "description": "x"}),
             Turn.say("Done.")]
    with FakeAnthropic(turns) as api:
        for key, value in api.cli_env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("COFFEE_MAKER_AGENT__AUTH", "api_key")
        code = main(["agent", "run", "--prompt", "go", "--binary", claude_bin, "--cwd", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert (tmp_path / "sub" / "made.txt").exists() and not (tmp_path / "leak.txt").exists()
    assert "rule:secret-variable" in out
