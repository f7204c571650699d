"""Forge providers: GitHub and GitLab against a local fake REST server, and the local provider."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from coffee_maker.config import LoadedConfig, load_config
from coffee_maker.config.git import ForgeSettings
from coffee_maker.errors import ForgeError
from coffee_maker.types import Priority, PRState
from coffee_maker.vcs import GitManager, make_forge
from coffee_maker.vcs.forge import owner_and_repo
from coffee_maker.vcs.forge.github import GitHubForge
from coffee_maker.vcs.forge.gitlab import GitLabForge
from coffee_maker.vcs.forge.local import LocalForge
from tests.conftest import git

GH_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
              "Authorization": "Bearer t0k"}


def _pr(number: int, *, state: str = "open", merged: bool = False) -> dict[str, object]:
    return {"number": number, "html_url": f"https://github.test/o/r/pull/{number}", "state": state,
            "merged_at": "2026-11-23T00:00:00Z" if merged else None, "title": "T",
            "head": {"ref": "coffee-maker/x", "sha": "abc"}, "base": {"ref": "main"}}


class FakeGitHub:
    """Just enough of the pulls API, with the checks the real one applies."""

    def __init__(self, server: HTTPServer) -> None:
        self.pulls: list[dict[str, object]] = []
        self.calls: list[tuple[str, str, object]] = []
        server.expect_request("/repos/o/r/pulls", method="GET", headers=GH_HEADERS).respond_with_handler(self.list)
        server.expect_request("/repos/o/r/pulls", method="POST", headers=GH_HEADERS).respond_with_handler(self.create)
        server.expect_request("/repos/o/r/pulls/1", method="PATCH", headers=GH_HEADERS).respond_with_handler(self.update)
        server.expect_request("/repos/o/r/issues/1/labels", method="POST").respond_with_json([{"name": "coffee-maker"}])
        server.expect_request("/repos/o/r/pulls/1/reviews", method="GET").respond_with_handler(
            lambda r: Response(json.dumps(self.reviews), content_type="application/json"))
        server.expect_request("/repos/o/r/commits/abc/check-runs").respond_with_json(
            {"check_runs": [{"status": "completed", "conclusion": "success"}]})
        self.reviews: list[dict[str, object]] = []

    def list(self, request: Request) -> Response:
        assert request.args["head"] == "o:coffee-maker/x" and request.args["state"] == "all"
        return Response(json.dumps(self.pulls), content_type="application/json")

    def create(self, request: Request) -> Response:
        body = request.get_json()
        assert set(body) == {"title", "head", "base", "body", "draft"} and body["base"] == "main"
        self.calls.append(("POST", "/pulls", body))
        if self.pulls:
            return Response(json.dumps({"message": "Validation Failed", "errors": [
                {"message": "A pull request already exists for o:coffee-maker/x."}]}), status=422,
                content_type="application/json")
        self.pulls.append(_pr(1))
        return Response(json.dumps(_pr(1)), status=201, content_type="application/json")

    def update(self, request: Request) -> Response:
        self.calls.append(("PATCH", "/pulls/1", request.get_json()))
        return Response(json.dumps(_pr(1)), content_type="application/json")


class TestGitHub:
    def test_open_is_idempotent(self, httpserver: HTTPServer) -> None:
        """The first call creates the PR; the second finds and updates it — never a second PR."""
        fake = FakeGitHub(httpserver)
        forge = GitHubForge(httpserver.url_for("/"), "o", "r", "t0k", ForgeSettings())
        first = forge.open_or_update(branch="coffee-maker/x", base="main", title="T", body="B")
        second = forge.open_or_update(branch="coffee-maker/x", base="main", title="T2", body="B2")
        assert first.number == second.number == 1 and len(fake.pulls) == 1
        assert [c[0] for c in fake.calls] == ["POST", "PATCH"]
        assert fake.calls[1][2] == {"title": "T2", "body": "B2"}

    def test_422_already_exists_is_recovered(self, httpserver: HTTPServer) -> None:
        """When the PR exists but listing missed it (a race), the 422 leads to an update."""
        fake = FakeGitHub(httpserver)
        forge = GitHubForge(httpserver.url_for("/"), "o", "r", "t0k", ForgeSettings(labels=[]))
        fake.pulls.append(_pr(1))
        original_find = forge.find
        calls = {"n": 0}

        def racing_find(branch: str):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            return None if calls["n"] == 1 else original_find(branch)

        forge.find = racing_find  # type: ignore[method-assign]
        pr = forge.open_or_update(branch="coffee-maker/x", base="main", title="T", body="B")
        assert pr.number == 1 and [c[0] for c in fake.calls] == ["POST", "PATCH"]

    def test_state_review_and_checks(self, httpserver: HTTPServer) -> None:
        """Merged state, a changes-requested review and green checks are read back."""
        fake = FakeGitHub(httpserver)
        fake.pulls.append(_pr(1, state="closed", merged=True))
        fake.reviews = [{"state": "CHANGES_REQUESTED", "user": {"login": "ann"}, "body": "rename it"}]
        pr = GitHubForge(httpserver.url_for("/"), "o", "r", "t0k", ForgeSettings()).find("coffee-maker/x")
        assert pr is not None and pr.state is PRState.MERGED
        assert pr.review_decision == "changes_requested" and pr.checks == "success"

    def test_bad_token_is_a_sentence(self, httpserver: HTTPServer) -> None:
        """A 401 says what to fix."""
        httpserver.expect_request("/repos/o/r/pulls").respond_with_json({"message": "Bad credentials"}, status=401)
        with pytest.raises(ForgeError, match="refused the token"):
            GitHubForge(httpserver.url_for("/"), "o", "r", "bad", ForgeSettings()).find("b")


class TestGitLab:
    def test_open_then_update(self, httpserver: HTTPServer) -> None:
        """A merge request is created once, then updated (the fake sees the decoded project path)."""
        mrs: list[dict[str, object]] = []
        mr = {"iid": 7, "web_url": "https://gitlab.test/g/r/-/merge_requests/7", "source_branch": "b",
              "target_branch": "main", "title": "T", "state": "opened"}

        def listing(request: Request) -> Response:
            assert request.headers["PRIVATE-TOKEN"] == "glt"
            return Response(json.dumps(mrs), content_type="application/json")

        def create(request: Request) -> Response:
            assert request.get_json()["source_branch"] == "b"
            mrs.append(mr)
            return Response(json.dumps(mr), status=201, content_type="application/json")

        httpserver.expect_request("/projects/g/sub/r/merge_requests", method="GET").respond_with_handler(listing)
        httpserver.expect_request("/projects/g/sub/r/merge_requests", method="POST").respond_with_handler(create)
        httpserver.expect_request("/projects/g/sub/r/merge_requests/7", method="PUT").respond_with_json(
            {**mr, "title": "T2"})
        forge = GitLabForge(httpserver.url_for("/"), "g/sub/r", "glt", ForgeSettings())
        assert forge.open_or_update(branch="b", base="main", title="T", body="B").number == 7
        assert forge.open_or_update(branch="b", base="main", title="T2", body="B").title == "T2"
        assert len(mrs) == 1


class TestLocalAndSelection:
    def test_local_pr_lifecycle(self, loaded: LoadedConfig, priority: Priority) -> None:
        """Local PRs are numbered once per branch, take review feedback, and turn merged on merge."""
        manager = GitManager(loaded)
        ws = manager.prepare(priority)
        (ws.path / "a.py").write_text("a = 1\n")
        manager.commit(ws, "feat: a", {})
        manager.push(ws)
        forge = LocalForge(loaded)
        pr = forge.open_or_update(branch=ws.branch, base="main", title="T", body="B")
        assert forge.open_or_update(branch=ws.branch, base="main", title="T", body="B2").number == pr.number == 1
        forge.review(ws.branch, author="ann", body="add a docstring", changes_requested=True)
        found = forge.find(ws.branch)
        assert found is not None and found.review_decision == "changes_requested"
        assert forge.feedback(found) == ["ann: add a docstring"]
        git(loaded.repo, "merge", "-q", f"origin/{ws.branch}")
        git(loaded.repo, "push", "-q", "origin", "main")
        manager.fetch()
        assert forge.find(ws.branch).state is PRState.MERGED  # type: ignore[union-attr]

    def test_auto_selection(self, loaded: LoadedConfig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """A local bare remote means the local provider; a GitHub remote without a token is a clear error."""
        assert make_forge(loaded).name == "local"
        git(loaded.repo, "remote", "set-url", "origin", "git@github.com:o/r.git")
        bin_dir = tmp_path / "bin"  # git only: no `gh` to ask for a token
        bin_dir.mkdir()
        (bin_dir / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
        monkeypatch.setenv("PATH", str(bin_dir))
        with pytest.raises(ForgeError, match="No GitHub token"):
            make_forge(load_config(loaded.repo))
        monkeypatch.setenv("GITHUB_TOKEN", "t")
        assert make_forge(load_config(loaded.repo)).name == "github"

    @pytest.mark.parametrize(("url", "expected"), [
        ("git@github.com:o/r.git", ("o", "r")), ("https://github.com/o/r", ("o", "r")),
        ("https://gitlab.com/g/sub/r.git", ("g/sub", "r")), ("/tmp/origin.git", None)])
    def test_owner_and_repo(self, url: str, expected: tuple[str, str] | None) -> None:
        """Owner and repository come from every common remote URL form."""
        assert owner_and_repo(url) == expected
