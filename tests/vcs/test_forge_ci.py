"""CI of a commit through the real providers against the fake forge over loopback: check runs and
statuses, conditional requests (ETag/304), retries and rate limits, job logs, re-runs."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from coffee_maker.config import LoadedConfig
from coffee_maker.config.git import ForgeSettings
from coffee_maker.testing.fake_forge import FakeForge
from coffee_maker.types import CheckConclusion, CheckStatus, CiState
from coffee_maker.vcs.forge import ForgeRateLimited
from coffee_maker.vcs.forge._polling import RetryPolicy
from coffee_maker.vcs.forge.gh import GhCliForge
from coffee_maker.vcs.forge.github import GitHubForge
from coffee_maker.vcs.forge.gitlab import GitLabForge
from coffee_maker.vcs.forge.local import LocalForge
from coffee_maker.vcs.forge.triage import FailureKind, classify_failure

FAILING_LOG = ("2026-01-01T10:00:00.0000000Z ##[group]Run pytest\n"
               "2026-01-01T10:00:01.0000000Z FAILED tests/test_cart.py::test_total - assert 41 == 42\n"
               "2026-01-01T10:00:02.0000000Z ##[error]Process completed with exit code 1.\n")


@pytest.fixture
def fake() -> Iterator[FakeForge]:
    with FakeForge(token="t0k", gitlab_project="g/r") as server:
        yield server
    assert server.problems == []


class Sleeps(list[float]):
    """Records the back-off instead of sleeping: the test asserts on the waits, never waits."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def github(fake: FakeForge, sleeps: Sleeps | None = None) -> GitHubForge:
    return GitHubForge(fake.url, "o", "r", "t0k", ForgeSettings(), sleep=sleeps if sleeps is not None else Sleeps())


def gitlab(fake: FakeForge) -> GitLabForge:
    return GitLabForge(fake.gitlab_url, "g/r", "t0k", ForgeSettings(), sleep=Sleeps())


class TestGitHubChecks:
    def test_states_from_check_runs_and_statuses(self, fake: FakeForge) -> None:
        """None before CI reports; pending while a job runs; red once one fails (a status too); green at the end."""
        forge = github(fake)
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        assert forge.checks(pr).state is CiState.NONE and "no CI" in forge.checks(pr).reason
        lint = fake.add_check(1, "lint", "in_progress")
        report = forge.checks(pr)
        assert report.state is CiState.PENDING and report.checks[0].status is CheckStatus.IN_PROGRESS
        fake.finish_check(lint, "success")
        fake.add_status(1, "ci/external", "success", target_url="https://ci.test/build/7")
        report = forge.checks(forge.get(1))
        assert report.state is CiState.GREEN and {c.name for c in report.checks} == {"lint", "ci/external"}
        external = next(c for c in report.checks if c.name == "ci/external")
        assert external.job_id is None and external.url == "https://ci.test/build/7"
        fake.add_status(1, "ci/external", "error")
        assert forge.checks(pr.head_sha or "").state is CiState.RED

    def test_unchanged_answers_are_304s(self, fake: FakeForge) -> None:
        """The second poll of an unchanged commit sends If-None-Match and gets 304s: no rate limit used."""
        forge = github(fake)
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        fake.add_check(1, "test", "in_progress")
        first = forge.checks(pr)
        used = fake.rate_used
        assert forge.checks(pr) == first
        polls = [r for r in fake.requests if "/commits/" in r.path][-2:]
        assert all(r.headers.get("if-none-match", "").startswith('W/"') for r in polls)
        assert fake.rate_used == used and forge.poller.stats.not_modified == 2
        assert forge.poller.stats.rate_remaining == fake.rate_limit_total - used
        fake.add_check(1, "lint", "completed", "failure")  # a change: a full answer again
        assert forge.checks(pr).state is CiState.RED and fake.rate_used == used + 1  # the statuses: 304 still

    def test_5xx_is_retried_with_back_off(self, fake: FakeForge) -> None:
        """Two 502s then an answer: the caller sees the answer, the waits grew."""
        sleeps = Sleeps()
        forge = github(fake, sleeps)
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        fake.fail(2, status=502)
        assert forge.checks(pr).state is CiState.NONE
        assert sleeps == [1.0, 2.0] and forge.poller.stats.retries == 2

    def test_retries_exhausted_is_rate_limited_not_a_traceback(self, fake: FakeForge) -> None:
        """A forge that keeps failing surfaces as ForgeRateLimited (wait, do not spend an attempt)."""
        forge = GitHubForge(fake.url, "o", "r", "t0k", ForgeSettings(), retry=RetryPolicy(attempts=3), sleep=Sleeps())
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        fake.fail(3, status=503)
        with pytest.raises(ForgeRateLimited, match="answered 503 3 times") as caught:
            forge.checks(pr)
        assert caught.value.retry_in_s() > 0

    def test_short_rate_limit_is_waited_out_long_one_surfaces(self, fake: FakeForge) -> None:
        """A secondary limit of 20 s is slept through; one of an hour is the daemon's to wait, with its time."""
        sleeps = Sleeps()
        forge = github(fake, sleeps)
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        fake.rate_limit(1, reset_in_s=20, secondary=True)
        assert forge.checks(pr).state is CiState.NONE and 15 <= sleeps[0] <= 20
        fake.rate_limit(1, reset_in_s=3600)
        with pytest.raises(ForgeRateLimited) as caught:
            forge.checks(pr)
        assert caught.value.retry_at == fake.rate_limit_reset

    def test_budget_exhausted_on_the_fake(self, fake: FakeForge) -> None:
        """The fake counts GitHub's hourly budget: spent, it answers 403 with x-ratelimit-remaining 0."""
        forge = github(fake)
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        fake.rate_limit_total = fake.rate_used
        with pytest.raises(ForgeRateLimited, match="GitHub rate limit reached"):
            forge.checks(pr)


class TestGitHubLogsAndReruns:
    def test_failure_log_follows_the_redirect_and_is_cut(self, fake: FakeForge) -> None:
        """The job log endpoint's 302 leads to the download; the excerpt names the step and the failure."""
        forge = github(fake)
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        fake.add_check(1, "test", "completed", "failure", log=FAILING_LOG)
        failed = forge.checks(pr).failed[0]
        excerpt = forge.failure_log(failed)
        assert excerpt.step == "Run pytest" and "FAILED tests/test_cart.py::test_total" in excerpt.excerpt
        assert excerpt.url == failed.url and "/actions/runs/" in excerpt.url
        download = [r for r in fake.requests if r.path.startswith("/_downloads/")]
        assert len(download) == 1 and "authorization" not in download[0].headers  # the token stays with the API

    def test_a_large_log_is_streamed(self, fake: FakeForge) -> None:
        """A 20 MB log served in chunks comes back as a capped excerpt."""
        def big() -> Iterator[bytes]:
            yield b"##[group]Run build\n"
            for _ in range(20 * 1024):
                yield b"compiling module ok ................................................\n" * 14
            yield b"error: linker failed\n##[error]Process completed with exit code 1.\n"

        forge = github(fake)
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        fake.add_check(1, "build", "completed", "failure", log=big)
        excerpt = forge.failure_log(forge.checks(pr).failed[0])
        assert "error: linker failed" in excerpt.excerpt and excerpt.truncated and len(excerpt.excerpt) <= 12_000

    def test_flaky_rerun_passes(self, fake: FakeForge) -> None:
        """Re-running the failed job makes a new run with the same name; it passed, so the failure was flaky."""
        forge = github(fake)
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        job = fake.add_check(1, "test", "completed", "failure", log=FAILING_LOG, rerun="success")
        failed = forge.checks(pr).failed[0]
        forge.rerun(failed)
        after = forge.checks(pr)
        assert fake.data.reruns == [job] and after.state is CiState.GREEN and after.checks[0].job_id != job
        kind = classify_failure(failed, forge.failure_log(failed), ["src/cart.py"], rerun_passed=after.state is CiState.GREEN)
        assert kind is FailureKind.FLAKY

    def test_external_status_has_no_log(self, fake: FakeForge) -> None:
        """A commit status has no job on GitHub: the excerpt says so and points at its URL."""
        forge = github(fake)
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        fake.add_status(1, "jenkins", "failure", target_url="https://jenkins.test/7")
        excerpt = forge.failure_log(forge.checks(pr).failed[0])
        assert "external CI" in excerpt.excerpt and "https://jenkins.test/7" in excerpt.excerpt


class TestGitLabCi:
    def test_pipeline_jobs_trace_and_retry(self, fake: FakeForge) -> None:
        """Jobs of the commit's pipeline, the failing job's trace cut, a retry that passes."""
        forge = gitlab(fake)
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        assert forge.checks(pr).state is CiState.NONE
        fake.add_check(1, "lint", "completed", "success")
        fake.add_check(1, "pytest", "completed", "failure", rerun="success",
                       log="section_start:1:step_script\r\x1b[0KExecuting\n$ pytest\nFAILED tests/t.py::x\n"
                           "ERROR: Job failed: exit code 1\n")
        report = forge.checks(forge.get(1))
        assert report.state is CiState.RED and [c.name for c in report.failed] == ["pytest"]
        failed = report.failed[0]
        assert failed.failure_reason == "script_failure" and failed.conclusion is CheckConclusion.FAILURE
        excerpt = forge.failure_log(failed)
        assert excerpt.step == "step_script" and "FAILED tests/t.py::x" in excerpt.excerpt
        forge.rerun(failed)
        assert forge.checks(pr).state is CiState.GREEN

    def test_runner_failure_is_infrastructure(self, fake: FakeForge) -> None:
        """GitLab's failure_reason reaches the classifier."""
        forge = gitlab(fake)
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        fake.add_check(1, "pytest", "completed", "failure", failure_reason="runner_system_failure")
        failed = forge.checks(pr).failed[0]
        assert classify_failure(failed, None, ["a.py"]) is FailureKind.INFRASTRUCTURE

    def test_pipeline_polls_are_conditional(self, fake: FakeForge) -> None:
        """GitLab answers with ETags too; an unchanged pipeline is a 304."""
        forge = gitlab(fake)
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        fake.add_check(1, "pytest", "in_progress")
        forge.checks(pr)
        forge.checks(pr)
        assert forge.poller.stats.not_modified == 2


def test_local_forge_has_no_ci(loaded: LoadedConfig) -> None:
    """A local repository's CI is none, and the report says why."""
    forge = LocalForge(loaded)
    pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
    report = forge.checks(pr)
    assert report.state is CiState.NONE and "no CI" in report.reason


@pytest.mark.skipif(shutil.which("gh") is None, reason="the gh CLI is not installed (`apt-get install gh`)")
def test_real_gh_reads_checks_and_the_log(fake: FakeForge, tmp_path: Path) -> None:
    """The real gh: check runs through `gh api --include`, the job log through gh following the redirect."""
    env = {"GH_TOKEN": "t0k", "GH_ENTERPRISE_TOKEN": "t0k", "HTTP_PROXY": fake.url, "http_proxy": fake.url,
           "GH_CONFIG_DIR": str(tmp_path / "gh"), "NO_PROXY": "", "GH_NO_UPDATE_NOTIFIER": "1"}
    forge = GhCliForge("o", "r", ForgeSettings(), hostname="github.localhost", env=env, sleep=Sleeps())
    pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
    fake.add_check(1, "test", "completed", "failure", log=FAILING_LOG)
    report = forge.checks(forge.get(1))
    assert report.state is CiState.RED
    excerpt = forge.failure_log(report.failed[0])
    assert excerpt.step == "Run pytest" and "FAILED tests/test_cart.py" in excerpt.excerpt
    assert forge.checks(pr).state is CiState.RED and forge.poller.stats.not_modified >= 1
