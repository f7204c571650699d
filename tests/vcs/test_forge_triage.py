"""classify_failure: infrastructure, flaky, unrelated or real — before an agent run is spent."""

from __future__ import annotations

from coffee_maker.types import CheckConclusion, CheckRun, CheckStatus, LogExcerpt
from coffee_maker.vcs.forge.triage import FailureKind, classify_failure, is_unrelated, paths_in


def check(conclusion: CheckConclusion, name: str = "test", reason: str = "") -> CheckRun:
    return CheckRun(name, CheckStatus.COMPLETED, conclusion, url="u", job_id=1, failure_reason=reason)


def log(text: str) -> LogExcerpt:
    return LogExcerpt(step="Run tests", excerpt=text, url="u", truncated=False)


CHANGED = ["src/app/cart.py", "tests/test_cart.py"]


class TestInfrastructure:
    def test_cancelled_and_startup_failure(self) -> None:
        """A cancelled job or one that never started judged no code."""
        for conclusion in (CheckConclusion.CANCELLED, CheckConclusion.STARTUP_FAILURE):
            assert classify_failure(check(conclusion), None, CHANGED) is FailureKind.INFRASTRUCTURE

    def test_timed_out_before_tests_ran(self) -> None:
        """A time-out while installing is infrastructure; one after tests started is a real (hanging) failure."""
        installing = log("Collecting numpy\nDownloading numpy-2.0.whl (18 MB)")
        assert classify_failure(check(CheckConclusion.TIMED_OUT), installing, CHANGED) is FailureKind.INFRASTRUCTURE
        hanging = log("collected 40 items\ntests/test_cart.py ....")
        assert classify_failure(check(CheckConclusion.TIMED_OUT), hanging, CHANGED) is FailureKind.REAL

    def test_runner_lost_and_gitlab_reasons(self) -> None:
        """A lost runner (GitHub's message) or GitLab's runner_system_failure is infrastructure."""
        lost = log("The hosted runner: GitHub Actions 2 lost communication with the server.")
        assert classify_failure(check(CheckConclusion.FAILURE), lost, CHANGED) is FailureKind.INFRASTRUCTURE
        gitlab = check(CheckConclusion.FAILURE, reason="runner_system_failure")
        assert classify_failure(gitlab, None, CHANGED) is FailureKind.INFRASTRUCTURE
        assert classify_failure(check(CheckConclusion.FAILURE, reason="script_failure"), None,
                                CHANGED) is FailureKind.REAL


class TestFlakyAndReal:
    def test_rerun_passed_is_flaky(self) -> None:
        """A failure whose re-run of the same commit passed needs no fix."""
        assert classify_failure(check(CheckConclusion.FAILURE), log("FAILED tests/test_cart.py::t"), CHANGED,
                                rerun_passed=True) is FailureKind.FLAKY

    def test_failure_in_a_changed_file_is_real(self) -> None:
        """The log names a file the branch changed: the agent should fix it."""
        text = 'File "src/app/cart.py", line 17\nFAILED tests/test_cart.py::test_total'
        assert classify_failure(check(CheckConclusion.FAILURE), log(text), CHANGED,
                                rerun_passed=False) is FailureKind.REAL


class TestUnrelated:
    def test_failure_only_in_untouched_files(self) -> None:
        """A link checker failing on docs the branch never touched is reported, not "fixed"."""
        text = "docs/install.md:12: broken link https://example.invalid\nERROR: 1 broken link"
        assert classify_failure(check(CheckConclusion.FAILURE, "links"), log(text), CHANGED) is FailureKind.UNRELATED

    def test_sibling_file_and_check_name_count_as_related(self) -> None:
        """A failure next to a changed file, or a check named after a changed top-level directory, is related."""
        assert not is_unrelated("test", "src/app/prices.py:3: error", CHANGED)
        assert not is_unrelated("docs", "docs/x.md:1: error", ["docs/y/z.md"])

    def test_no_paths_is_related(self) -> None:
        """A log that names no files proves nothing: related (the narrow side of the heuristic)."""
        assert not is_unrelated("build", "make: *** [all] Error 2", CHANGED)
        assert not is_unrelated("build", "lib/x.py: error", [])

    def test_library_frames_are_not_project_paths(self) -> None:
        text = '/usr/lib/python3.12/site-packages/yaml/loader.py:3\nsrc/app/cart.py:17: AssertionError'
        assert paths_in(text) == {"src/app/cart.py"}
