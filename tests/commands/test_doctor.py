"""`coffee-maker doctor` checks what the daemon will really do: the forge and channels it builds, the remote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coffee_maker.cli import main
from coffee_maker.config import load_config
from coffee_maker.testing.fake_forge import FakeForge
from coffee_maker.vcs.git import GitManager
from coffee_maker.vcs.readiness import repository_problem
from tests.conftest import git
from tests.vcs.conftest import make_repo


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """git may reach only local repositories: `ls-remote` to github.com fails at once instead of hanging."""
    monkeypatch.setenv("GIT_ALLOW_PROTOCOL", "file")
    monkeypatch.setenv("GH_CONFIG_DIR", "/nonexistent/gh")  # `gh auth token` finds no login


@pytest.fixture
def fake() -> Iterator[FakeForge]:
    with FakeForge(token="t0k", owner="o", repo="r", gitlab_project="g/r") as server:
        yield server


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return make_repo(tmp_path, config="[git]\ntest_command = \"true\"\n")[1]


def doctor(repo: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, dict[str, Any]]]:
    code = main(["doctor", "--json", "--repo", str(repo)])
    return code, {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}


def configure(repo: Path, text: str) -> None:
    (repo / "coffee_maker.toml").write_text("[git]\ntest_command = \"true\"\n" + text)


class TestForge:
    def test_local_path_remote_with_github_provider_is_not_ready(self, work: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
        """provider = "github" with a bare repository on disk as origin: ✗, as the daemon would stop."""
        configure(work, "[forge]\nprovider = \"github\"\ntoken = \"t0k\"\n")
        code, checks = doctor(work, capsys)
        assert code == 1 and checks["forge"]["status"] == "fail"
        assert "needs a remote on a GitHub server" in checks["forge"]["detail"]
        assert "origin.git" in checks["forge"]["detail"] and 'provider = "local"' in checks["forge"]["detail"]

    def test_github_remote_without_token_says_what_happens(self, work: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
        """auto + a GitHub remote + no token: ✗ "No GitHub token" — no promise of a fallback that never happens."""
        git(work, "remote", "set-url", "origin", "git@github.com:o/r.git")
        code, checks = doctor(work, capsys)
        forge = checks["forge"]
        assert code == 1 and forge["status"] == "fail" and forge["detail"].startswith("No GitHub token")
        assert "fall back" not in forge["detail"] and "export GITHUB_TOKEN" in forge["detail"]

    def test_token_env_is_honoured_and_the_token_is_asked(self, work: Path, fake: FakeForge,
                                                          capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
        """[forge] token_env names the variable; the token is "working" only once GitHub said who it is."""
        git(work, "remote", "set-url", "origin", "git@github.com:o/r.git")
        configure(work, f"[forge]\napi_url = \"{fake.url}\"\ntoken_env = \"MY_FORGE_TOKEN\"\n")
        code, checks = doctor(work, capsys)
        assert checks["forge"]["status"] == "fail" and "token_env names MY_FORGE_TOKEN" in checks["forge"]["detail"]
        monkeypatch.setenv("MY_FORGE_TOKEN", "wrong")
        code, checks = doctor(work, capsys)
        assert checks["forge"]["status"] == "fail" and "refused the token (401)" in checks["forge"]["detail"]
        monkeypatch.setenv("MY_FORGE_TOKEN", "t0k")
        code, checks = doctor(work, capsys)
        assert checks["forge"] == {**checks["forge"], "status": "ok",
                                   "detail": "github: signed in as coffee-maker, may write to o/r"}
        assert ("GET", "/user") in fake.calls("GET") and ("GET", "/repos/o/r") in fake.calls("GET")

    def test_a_read_only_token_is_not_ready(self, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A token that may only read the repository cannot push or open PRs: ✗."""
        with FakeForge(token="t0k", login="viewer", collaborators={}) as fake:
            fake.add_collaborator("viewer", "read")
            git(work, "remote", "set-url", "origin", "https://github.com/o/r.git")
            configure(work, f"[forge]\napi_url = \"{fake.url}\"\n")
            with pytest.MonkeyPatch.context() as env:
                env.setenv("GITHUB_TOKEN", "t0k")
                code, checks = doctor(work, capsys)
        assert code == 1 and "viewer's token may only read o/r" in checks["forge"]["detail"]

    def test_gitlab_token_under_auto(self, work: Path, fake: FakeForge, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
        """auto + a GitLab remote reads GITLAB_TOKEN and asks GitLab who it is."""
        git(work, "remote", "set-url", "origin", "https://gitlab.example.com/g/r.git")
        configure(work, f"[forge]\napi_url = \"{fake.gitlab_url}\"\n")
        code, checks = doctor(work, capsys)
        assert checks["forge"]["status"] == "fail" and checks["forge"]["detail"].startswith("No GitLab token")
        monkeypatch.setenv("GITLAB_TOKEN", "t0k")
        code, checks = doctor(work, capsys)
        assert checks["forge"]["status"] == "ok" and checks["forge"]["detail"] == \
            "gitlab: signed in as coffee-maker, may write to g/r"
        assert ("GET", "/api/v4/user") in fake.calls("GET")

    def test_local_forge(self, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A local-path remote under auto is the local review-branch forge, and ready."""
        code, checks = doctor(work, capsys)
        assert checks["forge"]["status"] == "ok"
        assert checks["forge"]["detail"] == "local review branches (no forge): a record per PR in .coffee_maker/reviews/"
        assert checks["tests"] == {"name": "tests", "status": "ok", "detail": "the safety gate runs `true`", "fix": ""}


class TestRepository:
    def test_no_commits(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A repository with no commits is ✗ with one sentence (not all green)."""
        repo = tmp_path / "fresh"
        git(tmp_path, "init", "-q", "-b", "main", str(repo))
        git(repo, "remote", "add", "origin", str(tmp_path / "origin.git"))
        code, checks = doctor(repo, capsys)
        assert code == 1 and checks["readiness"]["status"] == "fail"
        assert checks["readiness"]["detail"] == repository_problem(GitManager(load_config(repo)))
        assert checks["readiness"]["detail"].startswith(f"The repository {repo} has no commits yet")

    def test_empty_origin(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """An origin with no branches is ✗, with the push that fixes it."""
        origin = tmp_path / "origin.git"
        git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
        repo = tmp_path / "work"
        git(tmp_path, "clone", "-q", str(origin), str(repo))
        (repo / "README.md").write_text("# x\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "init")
        code, checks = doctor(repo, capsys)
        assert code == 1 and checks["readiness"]["status"] == "fail"
        assert checks["readiness"]["detail"] == ("The remote 'origin' has no branches yet: push your default branch "
                                                 "first (`git push -u origin HEAD`).")
        assert checks["readiness"]["fix"] == "`coffee-maker run` waits on this until it is fixed."
        git(repo, "push", "-q", "-u", "origin", "HEAD")
        assert doctor(repo, capsys)[1]["readiness"] == {
            "name": "readiness", "status": "ok", "detail": f"origin → {origin}, branches start from origin/main",
            "fix": ""}

    def test_roadmap_not_pushed(self, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A roadmap committed but not pushed is ✗: the daemon branches from the remote and would wait."""
        (work / "docs" / "ROADMAP.md").write_text((work / "docs" / "ROADMAP.md").read_text() + "\n")
        git(work, "rm", "-q", "--cached", "docs/ROADMAP.md")
        git(work, "commit", "-qm", "chore: drop the roadmap")
        git(work, "push", "-q")
        git(work, "add", "docs/ROADMAP.md")
        git(work, "commit", "-qm", "docs: roadmap, not pushed")
        code, checks = doctor(work, capsys)
        assert code == 1 and checks["readiness"]["status"] == "fail"
        assert checks["readiness"]["detail"].startswith("docs/ROADMAP.md is not on origin/main: commit and push it")


class TestChannels:
    def test_slack_reads_the_fields_the_daemon_uses(self, work: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
        """Slack is checked as build_channels builds it: the configured token variables and the channel."""
        configure(work, "[notify]\nchannels = [\"slack\"]\n[notify.slack]\nbot_token_env = \"MY_BOT\"\n"
                        "app_token_env = \"MY_APP\"\n")
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")  # the default names are not what this config reads
        monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
        _, checks = doctor(work, capsys)
        assert checks["slack"]["status"] == "fail"
        assert checks["slack"]["detail"] == ("skipped: set [notify.slack] channel, $MY_BOT (xoxb- bot token), "
                                             "$MY_APP (xapp- app token, Socket Mode)")
        monkeypatch.setenv("MY_BOT", "xoxb-1")
        monkeypatch.setenv("MY_APP", "xapp-1")
        configure(work, "[notify]\nchannels = [\"slack\"]\n[notify.slack]\nbot_token_env = \"MY_BOT\"\n"
                        "app_token_env = \"MY_APP\"\nchannel = \"C0123\"\n")
        _, checks = doctor(work, capsys)
        assert checks["slack"]["status"] == "ok" and checks["slack"]["detail"] == \
            "channel C0123, tokens from $MY_BOT and $MY_APP"

    def test_apprise_without_urls(self, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A channel the daemon would skip is a ✗ row saying why."""
        configure(work, "[notify]\nchannels = [\"cli\", \"apprise\"]\n")
        _, checks = doctor(work, capsys)
        assert checks["apprise"] == {"name": "apprise", "status": "fail",
                                     "detail": "skipped: [notify] apprise_urls is empty",
                                     "fix": "Fix [notify], or take it out of [notify] channels."}


def doctor_cli(repo: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real command a person types, in a clean environment: no forge or Slack tokens of this machine."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")}
    return subprocess.run([sys.executable, "-m", "coffee_maker", "doctor", *extra, "--repo", str(repo)],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                          env={**clean, "GIT_ALLOW_PROTOCOL": "file", "GH_CONFIG_DIR": "/nonexistent/gh",
                               "COLUMNS": "200", **(env or {})})


def rows_of(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    return {c["name"]: c for c in json.loads(result.stdout)["checks"]}


class TestThroughTheCli:
    """`python -m coffee_maker doctor --repo …`: each problem is one clear ✗ row and exit 1, never a traceback."""

    def test_missing_forge_token(self, work: Path) -> None:
        git(work, "remote", "set-url", "origin", "git@github.com:o/r.git")
        result = doctor_cli(work, "--json")
        forge = rows_of(result)["forge"]
        assert result.returncode == 1 and forge["status"] == "fail"
        assert forge["detail"].startswith("No GitHub token") and "export GITHUB_TOKEN" in forge["detail"]
        table = doctor_cli(work)
        assert table.returncode == 1 and "Traceback" not in table.stderr + table.stdout
        assert "No GitHub token" in table.stdout and "Some checks failed." in table.stdout

    def test_slack_channel_without_a_token(self, work: Path) -> None:
        configure(work, "[notify]\nchannels = [\"cli\", \"slack\"]\n[notify.slack]\nchannel = \"C0123\"\n")
        result = doctor_cli(work, "--json")
        slack = rows_of(result)["slack"]
        assert result.returncode == 1 and slack == {
            "name": "slack", "status": "fail", "fix": "Set them, then restart the daemon.",
            "detail": "skipped: set $SLACK_BOT_TOKEN (xoxb- bot token), $SLACK_APP_TOKEN (xapp- app token, Socket Mode)"}
        with_bot = rows_of(doctor_cli(work, "--json", env={"SLACK_BOT_TOKEN": "xoxb-1"}))["slack"]
        assert with_bot["detail"] == "skipped: set $SLACK_APP_TOKEN (xapp- app token, Socket Mode)"

    def test_repository_without_commits(self, tmp_path: Path) -> None:
        origin = tmp_path / "origin.git"
        git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
        repo = tmp_path / "fresh"
        git(tmp_path, "init", "-q", "-b", "main", str(repo))
        git(repo, "remote", "add", "origin", str(origin))
        result = doctor_cli(repo, "--json")
        readiness = rows_of(result)["readiness"]
        assert result.returncode == 1 and readiness["status"] == "fail"
        assert readiness["detail"] == (
            f"The repository {repo} has no commits yet: commit your files (at least the roadmap and "
            "coffee_maker.toml) and push them (`git push -u origin HEAD`) before the daemon can branch from them.")
        table = doctor_cli(repo, env={"COLUMNS": "400"})  # the long tmp path must not wrap the sentence
        assert table.returncode == 1 and "Traceback" not in table.stderr + table.stdout
        assert "no commits yet" in table.stdout
