"""The pull-request loop's decisions as plain values: CI waits and time-outs, red checks, review threads, merging."""

from __future__ import annotations

from coffee_maker.daemon.pr_policy import (
    PENDING_MAX_S,
    BlockCi,
    CiMemory,
    FixCi,
    Green,
    MergeNow,
    Rerun,
    Tell,
    Wait,
    ci_retry,
    ci_waiting,
    declined,
    fix_summary,
    merge_decision,
    pending_wait,
    red_check,
    review_prompt,
    thread_replies,
    threads_to_address,
)
from coffee_maker.types import (
    CheckConclusion,
    CheckRun,
    CheckStatus,
    CiReport,
    CiState,
    LogExcerpt,
    PullRequest,
    ReviewThread,
)
from coffee_maker.vcs.forge.triage import FailureKind

PR = PullRequest(7, "https://forge.test/pr/7", "b", "main", "T", head_sha="abc1234def", mergeable=True, approved=True)
RED = CheckRun("tests", CheckStatus.COMPLETED, CheckConclusion.FAILURE, url="https://ci.test/run/1", job_id=11)
LOG = LogExcerpt("Run pytest", "FAILED tests/test_cart.py::test_total - assert 41 == 42", "https://ci.test/run/1/log",
                 truncated=True)


def memory(**kw: object) -> CiMemory:
    m = CiMemory()
    m.follow("abc1234def", 1000.0)
    for key, value in kw.items():
        setattr(m, key, value)
    return m


class TestWaiting:
    def test_green_none_pending(self) -> None:
        m = memory()
        assert ci_waiting(CiReport("s", CiState.GREEN), m, pid="P", timeout_s=60, now=1001, interval_s=5) == Green()
        assert ci_waiting(CiReport("s", CiState.NONE), m, pid="P", timeout_s=60, now=1001, interval_s=5) == Wait(0.0)
        assert ci_waiting(CiReport("s", CiState.PENDING), m, pid="P", timeout_s=60, now=1001, interval_s=5) == Wait(5.0)
        assert ci_waiting(CiReport("s", CiState.RED), m, pid="P", timeout_s=60, now=1001, interval_s=5) is None

    def test_back_off_doubles_to_a_ceiling(self) -> None:
        assert [pending_wait(n, 10) for n in range(4)] == [10, 20, 40, 80]
        assert pending_wait(50, 10) == PENDING_MAX_S

    def test_time_limit_is_one_sentence(self) -> None:
        running = CheckRun("slow", CheckStatus.IN_PROGRESS)
        told = ci_waiting(CiReport("s", CiState.PENDING, (running,)), memory(), pid="P", timeout_s=60, now=1060,
                          interval_s=5)
        assert isinstance(told, Tell) and "has not finished after 1 min" in told.notice and "slow" in told.notice

    def test_a_new_head_starts_over_but_keeps_the_rounds(self) -> None:
        m = memory(handled=True, reruns=["tests"], rounds=1, polls=3)
        m.follow("fff0000", 2000.0)
        assert (m.sha, m.since, m.handled, m.reruns, m.polls, m.rounds) == ("fff0000", 2000.0, False, [], 0, 1)
        assert CiMemory.load(m.dump()) == m and CiMemory.load(None) == CiMemory()


class TestRedCheck:
    def test_first_failure_is_re_run_once_never_a_round(self) -> None:
        for kind in (FailureKind.REAL, FailureKind.INFRASTRUCTURE):
            action = red_check(RED, kind, LOG, memory(), pid="P", pr=PR, rounds_allowed=2)
            assert isinstance(action, Rerun) and action.check == RED and "re-running it once" in action.note

    def test_real_after_the_re_run_goes_to_the_agent_with_the_log(self) -> None:
        action = red_check(RED, FailureKind.REAL, LOG, memory(reruns=["tests"]), pid="P", pr=PR, rounds_allowed=2)
        assert isinstance(action, FixCi)
        assert "'tests' failed" in action.prompt and "Failing step: Run pytest" in action.prompt
        assert "assert 41 == 42" in action.prompt and "https://ci.test/run/1/log" in action.prompt

    def test_infrastructure_twice_is_told_not_fixed(self) -> None:
        action = red_check(RED, FailureKind.INFRASTRUCTURE, LOG, memory(reruns=["tests"]), pid="P", pr=PR,
                           rounds_allowed=2)
        assert isinstance(action, Tell) and "outside the code" in action.notice

    def test_unrelated_and_flaky_are_told(self) -> None:
        unrelated = red_check(RED, FailureKind.UNRELATED, LOG, memory(), pid="P", pr=PR, rounds_allowed=2)
        assert isinstance(unrelated, Tell) and "does not touch" in unrelated.notice
        flaky = red_check(RED, FailureKind.FLAKY, LOG, memory(), pid="P", pr=PR, rounds_allowed=2)
        assert isinstance(flaky, Tell) and "flaky" in flaky.notice

    def test_rounds_exhausted_block_with_the_link_and_keep_the_pr(self) -> None:
        action = red_check(RED, FailureKind.REAL, LOG, memory(reruns=["tests"], rounds=2), pid="P", pr=PR,
                           rounds_allowed=2)
        assert isinstance(action, BlockCi)
        assert "after 2 fix rounds" in action.reason and "https://ci.test/run/1/log" in action.reason
        assert "PR #7 are kept" in action.notice

    def test_a_status_without_a_job_is_not_re_run(self) -> None:
        status = CheckRun("ci/ext", CheckStatus.COMPLETED, CheckConclusion.FAILURE, url="https://ci.test/x")
        action = red_check(status, FailureKind.REAL, None, memory(), pid="P", pr=PR, rounds_allowed=1)
        assert isinstance(action, FixCi) and "https://ci.test/x" in action.prompt


class TestCiRetry:
    def test_a_failed_round_is_retried_while_rounds_are_left_then_blocks_with_a_sentence(self) -> None:
        """A CI fix round that failed is tried again within ci_fix_rounds; past it the block names the check, the
        last failure (one line) and what to do, and keeps the PR."""
        assert ci_retry(1, 2, pid="P1", pr_number=7, what="the CI check 'tests'", failure="gate red") is None
        block = ci_retry(2, 2, pid="P1", pr_number=7, what="the CI check 'tests' (https://ci/1)",
                         failure="the safety gate failed:\n  tests\tfailed")
        assert block is not None and "after 2 CI fix rounds (ci_fix_rounds = 2)" in block.reason
        assert "https://ci/1" in block.reason and "failed: tests failed" in block.reason
        assert "PR #7 are kept" in block.notice and "coffee-maker retry P1" in block.notice


class TestReviewThreads:
    def test_inline_always_general_only_when_changes_requested(self) -> None:
        inline = ReviewThread("t1", "ann", "Rename this", path="a.py", line=3)
        general = ReviewThread("t2", "ann", "Add docs")
        done = ReviewThread("t3", "ann", "old", path="a.py", line=1, resolved=True)
        assert threads_to_address([inline, general, done], set(), changes_requested=False) == [inline]
        assert threads_to_address([inline, general, done], set(), changes_requested=True) == [inline, general]
        assert threads_to_address([inline, general], {"t1"}, changes_requested=True) == [general]

    def test_prompt_names_the_location(self) -> None:
        text = review_prompt([ReviewThread("t1", "ann", "Rename this", path="a.py", line=3)])
        assert text.startswith("Reviewers asked for changes") and "ann on a.py:3: Rename this" in text

    def test_prompt_numbers_the_threads_and_says_how_to_decline_one(self) -> None:
        text = review_prompt([ReviewThread("t1", "ann", "Rename this", path="a.py", line=3),
                              ReviewThread("t2", "bob", "Add docs")])
        assert "[1] ann on a.py:3: Rename this" in text and "[2] bob: Add docs" in text
        assert "WONTFIX <number>: <reason>" in text


THREADS = (ReviewThread("PRRT_a1", "ann", "Rename this", path="a.py", line=3), ReviewThread("PRRT_b2", "ann", "Round"))


class TestDeclined:
    def test_a_wontfix_line_by_number_or_by_the_forges_id(self) -> None:
        assert declined("Renamed it.\nWONTFIX 2: exact values are tested", THREADS) == {
            "PRRT_b2": "exact values are tested"}
        assert declined("WONTFIX PRRT_a1: the name is the API's", THREADS) == {"PRRT_a1": "the name is the API's"}

    def test_markdown_around_the_line_is_forgiven(self) -> None:
        for line in ("- **WONTFIX 2**: because", "* WONTFIX #2 — because", "> wontfix [2] - because",
                     "  WONTFIX 2:   because  "):
            assert declined(f"Done.\n\n{line}\n", THREADS) == {"PRRT_b2": "because"}, line

    def test_prose_unknown_threads_and_an_empty_reason(self) -> None:
        assert declined("I did not write WONTFIX 2: it is inside a sentence", THREADS) == {}
        assert declined("WONTFIX 7: no such thread", THREADS) == {}
        assert declined("WONTFIX 1:", THREADS) == {"PRRT_a1": "the agent chose not to change this (no reason given)"}
        assert declined("WONTFIX 1: first\nWONTFIX 1: second", THREADS) == {"PRRT_a1": "first"}

    def test_replies_fixed_ones_resolved_declined_ones_with_the_reason_left_open(self) -> None:
        text = "WONTFIX 2: exact values are tested\nRenamed the helper."
        assert fix_summary(text) == "Renamed the helper."
        fixed, kept = thread_replies(THREADS, text, "abc1234def")
        assert (fixed.body, fixed.resolve) == ("Fixed in abc1234: Renamed the helper.", True)
        assert (kept.body, kept.resolve) == ("Not changed: exact values are tested", False)
        assert fix_summary("") == "addressed the comment"

    def test_a_fix_that_changed_nothing_says_so_and_resolves_nothing(self) -> None:
        declined_one, looked_at = thread_replies(THREADS[::-1], "WONTFIX PRRT_b2: exact values\nChecked it.", "")
        assert (declined_one.body, declined_one.resolve) == ("Not changed: exact values", False)
        assert (looked_at.body, looked_at.resolve) == ("No code change: Checked it.", False)


class TestMerge:
    def test_only_approved_green_mergeable_non_draft(self) -> None:
        assert merge_decision(PR, CiState.GREEN, "squash") == MergeNow("squash", auto=False)
        assert merge_decision(PR, CiState.GREEN, "auto") == MergeNow("squash", auto=True)
        assert merge_decision(PR, CiState.GREEN, "off") == "merging is off ([forge] merge)"
        unapproved = PullRequest(7, "u", "b", "main", "T", mergeable=True, approved=False)
        assert "not approved" in str(merge_decision(unapproved, CiState.GREEN, "squash"))
        draft = PullRequest(7, "u", "b", "main", "T", mergeable=True, approved=True, draft=True)
        assert merge_decision(draft, CiState.GREEN, "merge") == "a draft"
        conflicted = PullRequest(7, "u", "b", "main", "T", mergeable=False, approved=True)
        assert "not mergeable" in str(merge_decision(conflicted, CiState.GREEN, "merge"))
        for state in (CiState.RED, CiState.PENDING, None):
            assert merge_decision(PR, state, "rebase") == "checks are not all green"
