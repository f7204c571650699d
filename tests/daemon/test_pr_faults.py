"""The pull-request loop's faults, through the real daemon, the real GitHub provider and the shipped fake forge:
a PR a person merges or closes mid-fix stops the fix and gets nothing pushed; a comment the agent declines is
answered with its reason; threads handed to a fix that failed are offered again; the receipt follows CI."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from coffee_maker.config import load_config
from coffee_maker.daemon import wiring
from coffee_maker.daemon.loop import Daemon
from coffee_maker.daemon.state import Phase
from coffee_maker.testing.channels import RecordingChannel
from coffee_maker.testing.config_edit import set_config
from coffee_maker.testing.fake_forge import FakeForge
from coffee_maker.testing.waiting import wait_until
from coffee_maker.types import OutcomeKind
from coffee_maker.vcs.forge.github import GitHubForge
from tests.conftest import git
from tests.daemon.conftest import set_script
from tests.daemon.pr_harness import BRANCH, P1, Run, running
from tests.daemon.test_pr_loop import FAILING_LOG, FIX_SCRIPT

FIXED = "def c2f(c):\n    return c * 9 / 5 + 32\n"
HANGING_FIX = {**FIX_SCRIPT, "resume_steps": [{"write": "weather/convert.py", "content": FIXED}, {"hang": True}]}


def listen(run: Run) -> RecordingChannel:
    person = RecordingChannel()
    run.daemon.services.notifier.channels.append(person)  # type: ignore[attr-defined]
    return person


def origin_head(sandbox: Path) -> str:
    return git(sandbox.parent / "origin.git", "rev-parse", BRANCH).strip()


def replies(fake: FakeForge, root: int) -> list[str]:
    return [str(c["body"]) for c in fake.data.review_comments.get(1, []) if c.get("in_reply_to_id") == root]


@pytest.mark.parametrize("ending", ["merged", "closed"])
def test_a_pr_merged_or_closed_mid_fix_stops_the_agent_and_pushes_nothing(sandbox: Path, fake: FakeForge,
                                                                          ending: str) -> None:
    """The agent works on a review comment when a person merges (closes) the PR: its session is stopped, the
    branch on the remote stays as it was, no second PR is opened, the priority ends done (blocked), told once."""
    set_script(sandbox, "priority-1.json", HANGING_FIX)
    with running(sandbox, fake, ci="ignore") as run:
        person = listen(run)
        before = origin_head(sandbox)
        root = fake.review_comment(1, "The offset is wrong", path="weather/convert.py", line=2, user="ann")
        wait_until(lambda: len(run.agents) == 2 and run.phase() is Phase.AGENT_RUNNING, what="the fix under way")
        (fake.set_merged if ending == "merged" else fake.set_closed)(1)
        wait_until(lambda: run.phase() is (Phase.DONE if ending == "merged" else Phase.BLOCKED), what="the end")
        fix = wait_until(lambda: run.agents[1].runs[-1].outcome, what="the fix's session to end")
        assert fix.kind is OutcomeKind.INTERRUPTED
        assert origin_head(sandbox) == before and len(fake.data.pulls) == 1
        assert replies(fake, root) == []
        told = [m for _, m in person.informed if "PR #1" in m]
        assert len(told) == 1 and ending in told[0] and "nothing was pushed" in told[0], told
        if ending == "closed":
            assert "closed without merge" in run.state().reason
        run.daemon.reviews.poll(force=True)
        assert len([m for _, m in person.informed if "PR #1" in m]) == 1


@contextmanager
def daemon_on(sandbox: Path, fake: FakeForge) -> Iterator[Daemon]:
    loaded = load_config(sandbox)
    daemon = wiring.build_daemon(loaded, threading.Event())
    daemon.services.forge = GitHubForge(fake.url, "o", "r", "t0k", loaded.config.forge)
    try:
        yield daemon
    finally:
        daemon.services.close()


def test_a_pr_merged_while_an_inline_fix_runs_gets_nothing_pushed(sandbox: Path, fake: FakeForge) -> None:
    """`run --once` polls only between steps: the merge lands while its agent works, and the check before the
    push stops the fix — no commit reaches the merged PR's branch and no new PR is opened for it."""
    set_script(sandbox, "priority-1.json", FIX_SCRIPT)
    with running(sandbox, fake, ci="ignore"):
        pass  # the PR is open; the daemon has stopped
    before = origin_head(sandbox)
    fake.review_comment(1, "The offset is wrong", path="weather/convert.py", line=2, user="ann")
    with daemon_on(sandbox, fake) as daemon:
        make: Callable[..., Any] = daemon.services.agent_for
        made: list[Any] = []

        def merged_meanwhile(*args: Any, **kwargs: Any) -> Any:
            made.append(agent := make(*args, **kwargs))
            fake.set_merged(1)  # a person merges while this agent works
            return agent

        daemon.services.agent_for = merged_meanwhile
        assert daemon.run(once=True, only=P1) == 0
        state = daemon.store.get(P1)
        assert made and made[0].runs[0].outcome.kind is OutcomeKind.SUCCESS  # the agent did finish its fix
        assert state is not None and state.phase is Phase.DONE
        assert origin_head(sandbox) == before and len(fake.data.pulls) == 1


def test_a_comment_the_agent_declines_gets_its_reason_in_the_thread(sandbox: Path, fake: FakeForge) -> None:
    """Two threads: the agent fixes the first and ends with `WONTFIX 2: <reason>` for the second — the first is
    answered "Fixed in …" and resolved, the second gets the reason and stays open for the reviewer."""
    script = {**FIX_SCRIPT, "resume_steps": [
        {"write": "weather/convert.py", "content": FIXED},
        {"result": "Fixed the offset in c2f.\n\nWONTFIX 2: the tests compare exact values, so rounding c2f "
                   "would break them."}]}
    set_script(sandbox, "priority-1.json", script)
    with running(sandbox, fake, ci="ignore") as run:
        offset = fake.review_comment(1, "The offset is wrong", path="weather/convert.py", line=2, user="ann")
        rounding = fake.review_comment(1, "Round to one decimal", path="weather/convert.py", line=2, user="ann")
        wait_until(lambda: replies(fake, offset) and replies(fake, rounding), what="both threads answered")
        prompt = run.prompts[1]
        assert "[1] ann on weather/convert.py:2: The offset is wrong" in prompt
        assert "[2] ann on weather/convert.py:2: Round to one decimal" in prompt and "WONTFIX" in prompt
        fix = run.state().commit_sha
        assert replies(fake, offset) == [f"Fixed in {fix[:7]}: Fixed the offset in c2f."]
        assert replies(fake, rounding) == ["Not changed: the tests compare exact values, so rounding c2f would "
                                           "break them."]
        assert offset in fake.data.resolved and rounding not in fake.data.resolved


def test_a_fix_that_declines_every_comment_is_answered_without_a_commit(sandbox: Path, fake: FakeForge) -> None:
    """The agent changes nothing and declines the only comment: no failed attempt, no push, the reason in the
    thread — and the next comment is handed over as usual (the round is over)."""
    script = {**FIX_SCRIPT, "resume_steps": [{"result": "WONTFIX 1: 31 is the offset the spec asks for."}]}
    set_script(sandbox, "priority-1.json", script)
    with running(sandbox, fake, ci="ignore") as run:
        before = origin_head(sandbox)
        root = fake.review_comment(1, "Use 32", path="weather/convert.py", line=2, user="ann")
        wait_until(lambda: replies(fake, root), what="the reply in the thread")
        assert replies(fake, root) == ["Not changed: 31 is the offset the spec asks for."]
        assert root not in fake.data.resolved and run.phase() is Phase.PR_OPEN
        assert origin_head(sandbox) == before and "retry" not in [h[1] for h in run.daemon.store.history(P1)]
        fake.review_comment(1, "Add a docstring", path="weather/convert.py", line=1, user="ann")
        wait_until(lambda: any("Add a docstring" in p for p in run.prompts), what="the next round")


def test_threads_of_a_failed_fix_are_offered_again(sandbox: Path, fake: FakeForge) -> None:
    """The fix's agent fails: nothing answers the thread (the retry's push did not address it); once the PR is
    back in review the comment goes to the agent again, and its fix is what the reply names."""
    set_config(sandbox / "coffee_maker.toml", "daemon", retry_delay_s=0.1)
    failing = {**FIX_SCRIPT, "resume_steps": [{"fail": "the model fell over"}]}
    set_script(sandbox, "priority-1.json", failing)
    with running(sandbox, fake, ci="ignore") as run:
        make: Callable[..., Any] = run.daemon.services.agent_for

        def fails_once(*args: Any, **kwargs: Any) -> Any:
            agent = make(*args, **kwargs)  # this one reads the failing script
            set_script(sandbox, "priority-1.json", FIX_SCRIPT)  # the next ones work
            return agent

        run.daemon.services.agent_for = fails_once
        root = fake.review_comment(1, "The offset is wrong", path="weather/convert.py", line=2, user="ann")
        wait_until(lambda: replies(fake, root), what="the reply in the thread")
        asked = [p for p in run.prompts if "The offset is wrong" in p]
        assert len(asked) == 2, run.prompts  # handed to the failed fix, then again
        fix = run.state().commit_sha
        assert replies(fake, root) == [f"Fixed in {fix[:7]}: Fixed the offset in c2f."]
        assert "+ 32" in git(sandbox.parent / "origin.git", "show", f"{fix}:weather/convert.py")
        assert "retry" in [h[1] for h in run.daemon.store.history(P1)]


def test_the_receipt_follows_ci_and_fix_rounds_without_a_push(sandbox: Path, fake: FakeForge) -> None:
    """The PR body is rewritten when the checks change and when a fix round starts — not only on a push."""
    set_script(sandbox, "priority-1.json", HANGING_FIX)
    with running(sandbox, fake):
        fake.add_check(1, "lint", conclusion="success")
        wait_until(lambda: "| CI checks | lint: success |" in fake.data.pulls[1]["body"], what="the checks shown")
        before = origin_head(sandbox)
        fake.add_check(1, "tests", conclusion="failure", log=FAILING_LOG)
        wait_until(lambda: "| Fix rounds | gate 0, CI 1, review 0 |" in fake.data.pulls[1]["body"],
                   what="the CI fix round shown")
        assert "tests: failure" in fake.data.pulls[1]["body"]
        assert origin_head(sandbox) == before  # the fix still runs: nothing was pushed
