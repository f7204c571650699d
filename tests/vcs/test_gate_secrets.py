"""The safety gate on real worktrees, and the secret scanner on a corpus of true and false positives."""

from __future__ import annotations

from pathlib import Path

import pytest

from coffee_maker.config import LoadedConfig, load_config
from coffee_maker.secrets import added_lines, scan, scan_line
from coffee_maker.types import GateCheck, Priority
from coffee_maker.vcs import GitManager, SafetyGate
from tests.vcs.conftest import make_repo

TRUE_POSITIVES = [
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "token = 'ghp_" + "a" * 36 + "'",
    "GH=github_pat_" + "A1b2" * 12,
    "SLACK_BOT_TOKEN=xoxb-" + "1234567890-abcdefghij",
    "app = 'xapp-1-" + "A0123456789-abcdef'",
    "url = 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX'",
    "ANTHROPIC_API_KEY=sk-ant-" + "api03-abcdefghijklmnopqrstuvwxyz",
    "openai_key = 'sk-proj-" + "abcdefghijklmnopqrstuvwxyz0123'",
    "OPENAI_API_KEY=sk-" + "ABCDEFGHIJKLMNOPQRSTUVWX",
    "db_password = 'Zr8#kq2!Lm4$Xp9v'",
    "SECRET_KEY = \"c9f1e2b7a4d84f0e9b6a3c2d1e0f9a8b\"",
    "stripe_api_key: 'rk_live_51HqA9b2C3d4E5f6'",
    "auth_token = \"f3a9c1b2d4e6f8a0b1c3d5e7\"",
]
FALSE_POSITIVES = [
    "password = os.environ['DB_PASSWORD']",
    "token = get_token()",
    "api_key = 'your-api-key-here'",
    "SECRET_KEY = 'changeme'",
    "password = '<password>'",
    "token: ${GITHUB_TOKEN}",
    "# set ANTHROPIC_API_KEY in your shell",
    "def check_password(password: str) -> bool:",
    "sk = 'sk-short'",
    "api_key = 'xxxxxxxxxxxxxxxx'",
    "password = 'aaaaaaaaaaaaaaaa'",
    "commit = '3f2a1b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a'",
    "token_count = 12345678901234",
]


class TestSecretScanner:
    @pytest.mark.parametrize("line", TRUE_POSITIVES)
    def test_true_positives(self, line: str) -> None:
        """Known token shapes and random-looking secret assignments are found."""
        assert scan_line(line) is not None

    @pytest.mark.parametrize("line", FALSE_POSITIVES)
    def test_false_positives(self, line: str) -> None:
        """Placeholders, environment lookups, hashes and code are not secrets."""
        assert scan_line(line) is None

    def test_env_files_and_allowlist(self) -> None:
        """`.env` files are flagged, `.env.example` is not; the allowlist silences a reviewed value."""
        findings = scan([], [".env", "config/.env.production", ".env.example"])
        assert sorted(f.path for f in findings) == [".env", "config/.env.production"]
        assert scan([("a.py", 1, "token = 'ghp_" + "b" * 36 + "'")], [], ["ghp_b+"]) == []

    def test_added_lines_from_diff(self) -> None:
        """Only added lines, with their new line numbers, are scanned."""
        diff = "+++ b/a.py\n@@ -1,0 +3,2 @@\n+x = 1\n+y = 2\n--- a/b.py\n+++ b/b.py\n@@ -5 +5 @@\n-old\n+new\n"
        assert added_lines(diff) == [("a.py", 3, "x = 1"), ("a.py", 4, "y = 2"), ("b.py", 5, "new")]


class TestSafetyGate:
    def _gate(self, loaded: LoadedConfig, priority: Priority):  # type: ignore[no-untyped-def]
        manager = GitManager(loaded)
        return manager, SafetyGate(loaded, manager), manager.prepare(priority)

    def test_real_work_with_green_tests_passes(self, loaded: LoadedConfig, priority: Priority) -> None:
        """A code change with a passing test command passes."""
        _, gate, ws = self._gate(loaded, priority)
        (ws.path / "feature.py").write_text("def f():\n    return 1\n")
        report = gate.check(ws)
        assert report.passed and "1 file changed" in report.summary

    def test_roadmap_only_is_not_work(self, loaded: LoadedConfig, priority: Priority) -> None:
        """Changing only the roadmap, a lock file and a dev log does not count as done."""
        _, gate, ws = self._gate(loaded, priority)
        (ws.path / "docs" / "ROADMAP.md").write_text("changed\n")
        (ws.path / "poetry.lock").write_text("x")
        (ws.path / "docs" / "devlogs").mkdir()
        (ws.path / "docs" / "devlogs" / "log.md").write_text("x")
        report = gate.check(ws)
        assert not report.passed and "No real work" in report.summary
        assert [i.kind for i in report.issues] == ["no_real_work"]

    def test_failing_tests_keep_output(self, tmp_path: Path, priority: Priority) -> None:
        """A red test command fails the gate and its output is kept for the agent."""
        _, work = make_repo(tmp_path, config="[git]\ntest_command = \"echo 3 failed; exit 1\"\n")
        _, gate, ws = self._gate(load_config(work), priority)
        (ws.path / "feature.py").write_text("x = 1\n")
        report = gate.check(ws)
        assert not report.passed and "exit code 1" in report.summary and "3 failed" in report.test_output
        assert report.has(GateCheck.TESTS) and not report.secrets_found

    def test_test_timeout_fails_the_gate(self, tmp_path: Path, priority: Priority) -> None:
        """A test command that outlives test_timeout_s is stopped and reported as a tests failure."""
        _, work = make_repo(tmp_path, config="[git]\ntest_command = \"echo started; sleep 60\"\ntest_timeout_s = 1\n")
        _, gate, ws = self._gate(load_config(work), priority)
        (ws.path / "feature.py").write_text("x = 1\n")
        report = gate.check(ws)
        assert not report.passed and "timed out" in report.summary and report.has(GateCheck.TESTS)

    def test_committed_work_is_checked_too(self, loaded: LoadedConfig, priority: Priority) -> None:
        """A secret already committed on the branch (not only uncommitted changes) fails the gate."""
        manager, gate, ws = self._gate(loaded, priority)
        (ws.path / "deploy.py").write_text("password = 'Zq8#vK2!mP9@xL4$'\n")
        manager.commit(ws, "feat: deploy", {})
        report = gate.check(ws)
        assert report.secrets_found and [i.kind for i in report.issues] == ["secrets"]

    def test_allowlist_lets_a_reviewed_value_through(self, tmp_path: Path, priority: Priority) -> None:
        """A value matching [git] secret_allowlist is not flagged."""
        _, work = make_repo(tmp_path, config="[git]\nsecret_allowlist = [\"AKIAIOSFODNN7EXAMPLE\"]\n")
        _, gate, ws = self._gate(load_config(work), priority)
        (ws.path / "docs_example.py").write_text("KEY_ID = 'AKIAIOSFODNN7EXAMPLE'\n")
        assert gate.check(ws).passed

    def test_secret_and_protected_path(self, tmp_path: Path, priority: Priority) -> None:
        """A staged secret and a protected path both fail the gate; tests are not even run."""
        _, work = make_repo(tmp_path, config="[git]\ntest_command = \"exit 1\"\nprotected_paths = [\"infra/*\"]\n")
        _, gate, ws = self._gate(load_config(work), priority)
        (ws.path / "infra").mkdir()
        (ws.path / "infra" / "main.tf").write_text("resource {}\n")
        (ws.path / "app.py").write_text("KEY = 'sk-ant-api03-" + "x1y2z3" * 5 + "'\n")
        report = gate.check(ws)
        assert not report.passed and report.secrets_found
        assert "app.py:1 looks like a Anthropic API key" in report.summary and "infra/main.tf" in report.summary
        assert report.test_output == "" and {i.kind for i in report.issues} == {"secrets", "protected_paths"}
