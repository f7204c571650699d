"""Forge failures are typed: a rate limit carries when to retry, anything else is a ForgeError."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from coffee_maker.config.git import ForgeSettings
from coffee_maker.errors import ForgeError
from coffee_maker.testing.fake_forge import FakeForge
from coffee_maker.types import PullRequest
from coffee_maker.vcs.forge import ForgeRateLimited
from coffee_maker.vcs.forge.errors import rate_limit_from
from coffee_maker.vcs.forge.gh import GhCliForge
from coffee_maker.vcs.forge.github import GitHubForge
from coffee_maker.vcs.forge.gitlab import GitLabForge


@pytest.fixture
def fake() -> Iterator[FakeForge]:
    with FakeForge(token="t0k", owner="o", repo="r", gitlab_project="g/r") as server:
        yield server


def _pr(number: int = 1, branch: str = "b") -> PullRequest:
    return PullRequest(number=number, url="u", branch=branch, base="main", title="T")


class TestRateLimits:
    def test_github_primary_limit_carries_the_reset_time(self, fake: FakeForge) -> None:
        """403 with x-ratelimit-remaining: 0 is ForgeRateLimited, retrying at x-ratelimit-reset."""
        forge = GitHubForge(fake.url, "o", "r", "t0k", ForgeSettings())
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        fake.rate_limit(calls=1, reset_in_s=600)
        with pytest.raises(ForgeRateLimited, match="GitHub rate limit reached") as caught:
            forge.comments(pr)
        assert caught.value.retry_at == fake.rate_limit_reset
        assert 590 <= caught.value.retry_in_s() <= 600
        assert forge.comments(pr) == []  # the limit lifted: the next call works

    def test_github_secondary_limit_uses_retry_after(self, fake: FakeForge) -> None:
        """A secondary limit (403 + retry-after) retries after the seconds GitHub names."""
        forge = GitHubForge(fake.url, "o", "r", "t0k", ForgeSettings())
        fake.rate_limit(calls=1, reset_in_s=120, secondary=True)
        before = time.time()
        with pytest.raises(ForgeRateLimited) as caught:
            forge.find("b")
        assert before + 110 <= caught.value.retry_at <= time.time() + 120

    def test_gitlab_429_carries_retry_after(self, fake: FakeForge) -> None:
        """GitLab's 429 with Retry-After is ForgeRateLimited too."""
        forge = GitLabForge(fake.gitlab_url, "g/r", "t0k", ForgeSettings())
        fake.rate_limit(calls=1, reset_in_s=300)
        with pytest.raises(ForgeRateLimited, match="GitLab rate limit reached") as caught:
            forge.find("b")
        assert 280 <= caught.value.retry_in_s() <= 300

    def test_gh_cli_rate_limit(self, fake: FakeForge, tmp_path: pytest.TempPathFactory) -> None:
        """Through the real gh CLI (`gh api --include`), the rate-limit headers reach the same typed error."""
        import shutil

        if shutil.which("gh") is None:
            pytest.skip("the gh CLI is not installed (`apt-get install gh`)")
        env = {"GH_TOKEN": "t0k", "GH_ENTERPRISE_TOKEN": "t0k", "HTTP_PROXY": fake.url, "http_proxy": fake.url,
               "GH_CONFIG_DIR": str(tmp_path), "NO_PROXY": "", "GH_NO_UPDATE_NOTIFIER": "1"}
        forge = GhCliForge("o", "r", ForgeSettings(), hostname="github.localhost", env=env)
        fake.rate_limit(calls=1, reset_in_s=900)
        with pytest.raises(ForgeRateLimited) as caught:
            forge.find("b")
        assert caught.value.retry_at == fake.rate_limit_reset

    def test_a_plain_403_is_no_rate_limit(self) -> None:
        """403 without rate-limit headers or message is a permission problem, not a reason to wait."""
        assert rate_limit_from("GitHub", 403, {"x-ratelimit-remaining": "4999"}, "Resource not accessible") is None
        assert rate_limit_from("GitHub", 404, {"retry-after": "5"}) is None
        limited = rate_limit_from("GitHub", 429, {}, now=1000.0)
        assert limited is not None and limited.retry_at == 1060.0  # no time named: GitHub says wait a minute


class TestTypedErrors:
    def test_unreachable_forge_is_a_forge_error(self) -> None:
        """A forge nobody listens on is a ForgeError with a sentence, not an httpx exception."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        forge = GitHubForge(f"http://127.0.0.1:{port}", "o", "r", "t", ForgeSettings(), timeout_s=5)
        with pytest.raises(ForgeError, match="GitHub could not be reached"):
            forge.find("b")

    def test_unexpected_answers_are_forge_errors(self, httpserver: HTTPServer) -> None:
        """A server that answers with the wrong shape (a proxy page, another API) gives ForgeErrors."""
        httpserver.expect_request("/repos/o/r/pulls").respond_with_json({"unexpected": True})
        httpserver.expect_request("/repos/o/r/pulls/1/reviews").respond_with_json([{"body": "x", "user": "not-an-object"}])
        httpserver.expect_request("/projects/gr/merge_requests").respond_with_data("<html>proxy</html>")
        github = GitHubForge(httpserver.url_for("/"), "o", "r", "t", ForgeSettings())
        with pytest.raises(ForgeError, match="unexpected shape"):
            github.find("b")
        with pytest.raises(ForgeError, match="unexpected shape"):
            github.comments(_pr())
        gitlab = GitLabForge(httpserver.url_for("/"), "gr", "t", ForgeSettings())
        with pytest.raises(ForgeError, match="not JSON"):
            gitlab.find("b")

    def test_missing_gh_is_a_forge_error(self) -> None:
        """provider = "gh" without gh installed: a ForgeError that says what to install or use instead."""
        with pytest.raises(ForgeError, match="needs the GitHub CLI"):
            GhCliForge("o", "r", ForgeSettings(), gh="gh-not-installed").find("b")
