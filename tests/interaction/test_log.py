"""InteractionLog: one JSON line per exchange, one file per day, secrets redacted; `coffee-maker interactions`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coffee_maker.commands.interactions_cmd import list_interactions
from coffee_maker.config import load_config
from coffee_maker.interaction.log import InteractionLog, redact


class TestRedact:
    @pytest.mark.parametrize("secret", [
        "sk-ant-api03-" + "x" * 40, "ghp_" + "A1b2" * 9, "xoxb-123456789012-123456789012-" + "a" * 24,
        "AKIA" + "ABCDEFGHIJKLMNOP",
    ])
    def test_token_shapes(self, secret: str) -> None:
        """Known token shapes are replaced wherever they appear."""
        assert secret not in json.dumps(redact({"q": f"use {secret} please", "input": {"command": f"x {secret}"}}))

    def test_private_key_and_password(self) -> None:
        """A PEM private key and a password assignment are replaced."""
        pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"
        out = json.dumps(redact({"text": f"{pem}\npassword = hunter2xyz", "api_key": "abc"}))
        assert "MIIEowIBAAKCAQEA" not in out and "hunter2xyz" not in out and '"api_key": "[REDACTED]"' in out


class TestInteractionLog:
    def test_one_file_per_day(self, tmp_path: Path) -> None:
        """Records land in YYYY-MM-DD.jsonl by their timestamp and read back filtered."""
        log = InteractionLog(tmp_path)
        log.append({"timestamp": "2026-01-02T10:00:00+00:00", "priority": "PRIORITY 1", "interaction_type": "permission"})
        log.append({"timestamp": "2026-01-03T10:00:00+00:00", "priority": "PRIORITY 2",
                    "interaction_type": "auto_response"})
        assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-01-02.jsonl", "2026-01-03.jsonl"]
        assert [r["priority"] for r in log.read(day="2026-01-03")] == ["PRIORITY 2"]
        assert [r["priority"] for r in log.read(kind="permission")] == ["PRIORITY 1"]
        assert [r["priority"] for r in log.read(priority="PRIORITY 2")] == ["PRIORITY 2"]


class TestInteractionsCommand:
    def test_json_filter(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """--json prints one object per line, filtered by type."""
        loaded = load_config(tmp_path)
        log = InteractionLog(loaded.interaction_log_dir)
        log.append({"timestamp": "2026-01-02T10:00:00+00:00", "interaction_type": "permission", "question": "a"})
        log.append({"timestamp": "2026-01-02T11:00:00+00:00", "interaction_type": "user_response", "question": "b"})
        assert list_interactions(loaded, day="2026-01-02", priority=None, kind="user_response", as_json=True) == 0
        assert [json.loads(line)["question"] for line in capsys.readouterr().out.splitlines()] == ["b"]

    def test_table(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The table names the question and how it was answered."""
        loaded = load_config(tmp_path)
        InteractionLog(loaded.interaction_log_dir).append({
            "interaction_type": "auto_response", "question": "continue?", "response": "yes",
            "response_method": "rule:continue-if-tests-pass", "response_time_seconds": 0.001})
        assert list_interactions(loaded, day=None, priority=None, kind=None, as_json=False) == 0
        assert "continue?" in capsys.readouterr().out
