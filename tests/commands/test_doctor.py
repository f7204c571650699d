"""`coffee-maker doctor` checks what the daemon will really do: the forge and channels it builds, the remote."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coffee_maker.cli import main
from coffee_maker.testing.fake_forge import FakeForge
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
        code, checks = doctor(repo, capsys)
        assert code == 1 and checks["commits"]["status"] == "fail"
        assert checks["commits"]["detail"] == "the repository has no commits yet, so there is no branch to work from"

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
        assert code == 1 and checks["remote"]["status"] == "fail" and "has no branches yet" in checks["remote"]["detail"]
        assert checks["remote"]["fix"] == "Push your default branch first: `git push -u origin HEAD`."
        git(repo, "push", "-q", "-u", "origin", "HEAD")
        assert doctor(repo, capsys)[1]["remote"]["status"] == "ok"


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
