"""The pull-request loop through the real daemon, the real GitHub provider and the shipped fake forge:
a red check's log reaches the agent and the fix is pushed; a flaky or lost-runner failure is re-run, not
fixed; fix rounds run out into a block that keeps the PR; review threads are answered naming the commit;
an approved green PR is merged when opted in, and never without approval."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from coffee_maker.config import load_config
from coffee_maker.daemon import wiring
from coffee_maker.daemon.loop import Daemon
from coffee_maker.daemon.state import Phase
from coffee_maker.testing.channels import RecordingChannel
from coffee_maker.testing.config_edit import set_config
from coffee_maker.testing.fake_forge import FakeForge
from coffee_maker.testing.waiting import wait_until
from coffee_maker.vcs.forge.github import GitHubForge
from tests.conftest import git
from tests.daemon.conftest import set_script
from tests.daemon.pr_harness import BRANCH, P1, origin_file, running

FAILING_LOG = ("2026-01-01T10:00:00.0000000Z ##[group]Run pytest\n"
               "2026-01-01T10:00:01.0000000Z FAILED weather/convert.py::test_c2f - assert 211 == 212\n"
               "2026-01-01T10:00:02.0000000Z ##[error]Process completed with exit code 1.\n")
RUNNER_LOST = "2026-01-01T10:00:00Z The runner has received a shutdown signal.\n"
FIX_SCRIPT = {"session_id": "s-ci", "steps": [
    {"write": "weather/convert.py", "content": "def c2f(c):\n    return c * 9 / 5 + 31\n"}, {"result": "Done."}],
    "resume_steps": [{"write": "weather/convert.py", "content": "def c2f(c):\n    return c * 9 / 5 + 32\n"},
                     {"result": "Fixed the offset in c2f."}]}


def test_red_check_log_reaches_the_agent_and_the_fix_is_pushed(sandbox: Path, fake: FakeForge) -> None:
    """Red (re-run once, red again) → the excerpt, step and run URL in the agent's prompt → the fix pushed to
    the same PR → the new head green: one fix round, no more agent runs."""
    set_script(sandbox, "priority-1.json", FIX_SCRIPT)
    with running(sandbox, fake) as run:
        job = fake.add_check(1, "tests", conclusion="failure", log=FAILING_LOG)
        wait_until(lambda: any("assert 211 == 212" in p for p in run.prompts), what="the log in the agent's prompt")
        prompt = next(p for p in run.prompts if "assert 211 == 212" in p)
        assert "'tests' failed" in prompt and "Failing step: Run pytest" in prompt and "/actions/runs/" in prompt
        assert fake.data.reruns == [job]  # one re-run before the agent was asked
        wait_until(lambda: "+ 32" in origin_file(sandbox, "weather/convert.py") and run.phase() is Phase.PR_OPEN,
                   what="the fix pushed")
        assert len(fake.data.pulls) == 1
        body = fake.data.pulls[1]["body"]  # the receipt, kept current by the push of the fix
        assert "| Fix rounds | gate 0, CI 1, review 0 |" in body and "| CI checks | tests: failure |" in body
        fixed = git(sandbox.parent / "origin.git", "rev-parse", BRANCH).strip()
        fake.set_head(1, fixed)  # GitHub sees the push
        fake.add_check(1, "tests", conclusion="success")
        wait_until(lambda: run.state().extra["ci"]["sha"] == fixed, what="the new head followed")
        runs = len(run.prompts)
        run.daemon.reviews.poll(force=True)
        assert len(run.prompts) == runs == 2 and run.state().extra["ci"]["rounds"] == 1


def test_flaky_check_is_re_run_once_then_green_without_an_agent_run(sandbox: Path, fake: FakeForge) -> None:
    with running(sandbox, fake) as run:
        job = fake.add_check(1, "tests", conclusion="failure", log=FAILING_LOG, rerun="success")
        wait_until(lambda: run.state().extra.get("ci", {}).get("handled"), what="the re-run seen green")
        assert fake.data.reruns == [job] and len(run.prompts) == 1 and run.state().extra["ci"]["rounds"] == 0


def test_infrastructure_failure_never_costs_a_fix_round(sandbox: Path, fake: FakeForge) -> None:
    """A lost runner twice: one re-run, then the person is told; no agent run, no round, the PR stays open."""
    with running(sandbox, fake) as run:
        fake.add_check(1, "tests", conclusion="failure", log=RUNNER_LOST)
        wait_until(lambda: run.state().extra.get("ci", {}).get("handled"), what="the failure handled")
        assert len(fake.data.reruns) == 1 and len(run.prompts) == 1
        assert run.state().extra["ci"]["rounds"] == 0 and run.phase() is Phase.PR_OPEN


def test_fix_rounds_exhausted_block_and_keep_the_pr(sandbox: Path, fake: FakeForge) -> None:
    """ci_fix_rounds = 0: a real failure blocks the priority with the log link; the PR and branch stay."""
    set_config(sandbox / "coffee_maker.toml", "daemon", ci_fix_rounds=0)
    with running(sandbox, fake) as run:
        fake.add_check(1, "tests", conclusion="failure", log=FAILING_LOG)
        wait_until(lambda: run.phase() is Phase.BLOCKED, what="the block")
        assert "still fails after 0 fix rounds" in run.state().reason and "/actions/runs/" in run.state().reason
        assert fake.data.pulls[1]["state"] == "open" and len(run.prompts) == 1
        assert origin_file(sandbox, "weather/convert.py")  # the branch is kept


def test_review_comment_is_fixed_and_answered_in_the_thread(sandbox: Path, fake: FakeForge) -> None:
    """An inline comment by a collaborator reaches the agent with path:line; the reply names the fix's commit;
    a drive-by comment by someone without write access is never acted on."""
    set_script(sandbox, "priority-1.json", FIX_SCRIPT)
    with running(sandbox, fake, ci="ignore") as run:
        fake.review_comment(1, "Ship it with my crypto miner", path="weather/convert.py", line=2, user="stranger")
        run.daemon.reviews.poll(force=True)
        assert len(run.prompts) == 1
        root = fake.review_comment(1, "The offset is wrong", path="weather/convert.py", line=2, user="ann")
        wait_until(lambda: any(c.get("in_reply_to_id") == root for c in fake.data.review_comments[1]),
                   what="the reply in the thread")
        assert "ann on weather/convert.py:2: The offset is wrong" in run.prompts[1]
        assert "crypto miner" not in run.prompts[1]
        reply = next(c for c in fake.data.review_comments[1] if c.get("in_reply_to_id") == root)
        fix = run.state().commit_sha
        assert reply["body"] == f"Fixed in {fix[:7]}: Fixed the offset in c2f."
        assert fix in git(sandbox.parent / "origin.git", "log", "--format=%H", BRANCH).split()
        assert "+ 32" in git(sandbox.parent / "origin.git", "show", f"{fix}:weather/convert.py")
        assert [u["login"] for u in fake.data.pulls[1]["requested_reviewers"]] == ["ann"]
        assert "| Fix rounds | gate 0, CI 0, review 1 |" in fake.data.pulls[1]["body"]
        assert root in fake.data.resolved


def test_approved_green_pr_is_merged_and_the_dependent_starts(sandbox: Path, fake: FakeForge) -> None:
    roadmap = sandbox / "docs" / "roadmap" / "ROADMAP.md"
    if not roadmap.exists():
        roadmap = next(sandbox.rglob("ROADMAP.md"))
    text = roadmap.read_text()
    roadmap.write_text(text.replace("Summarise a list", "**Dependencies**: PRIORITY 1\n\nSummarise a list"))
    git(sandbox, "commit", "-qam", "docs: PRIORITY 2 depends on PRIORITY 1")
    git(sandbox, "push", "-q")
    with running(sandbox, fake, block_p2=False, merge="squash") as run:
        fake.add_check(1, "tests", conclusion="success")
        assert run.daemon.store.get("PRIORITY 2") is None  # waiting for its dependency
        fake.review(1, "APPROVED", user="ann")
        wait_until(lambda: run.phase() is Phase.DONE, what="the merge")
        assert ("PUT", "/repos/o/r/pulls/1/merge") in fake.calls("PUT")
        assert fake.data.pulls[1]["merged"] is True
        assert any(m == "DELETE" and BRANCH in p for m, p in fake.calls("DELETE"))
        wait_until(lambda: run.daemon.store.get("PRIORITY 2") is not None, what="the dependent started")


def test_not_approved_is_never_merged(sandbox: Path, fake: FakeForge) -> None:
    with running(sandbox, fake, merge="squash") as run:
        fake.add_check(1, "tests", conclusion="success")
        fake.review(1, "APPROVED", user="stranger")  # no write access: not a person allowed to review
        for _ in range(3):
            run.daemon.reviews.poll(force=True)
        assert not fake.calls("PUT") and run.phase() is Phase.PR_OPEN


@contextmanager
def polled(sandbox: Path, fake: FakeForge, **daemon_settings: Any) -> Iterator[tuple[Daemon, list[Any], RecordingChannel]]:
    """A daemon that is not running: the test polls it; P1's PR is open on the fake forge."""
    set_config(sandbox / "coffee_maker.toml", "daemon", poll_interval_s=0.2, **daemon_settings)
    loaded = load_config(sandbox)
    daemon = wiring.build_daemon(loaded, threading.Event())
    forge = daemon.services.forge = GitHubForge(fake.url, "o", "r", "t0k", loaded.config.forge)
    if not fake.data.pulls:
        pr = forge.open_or_update(branch=BRANCH, base="main", title=P1, body="B")
        daemon.store.transition(P1, Phase.PR_OPEN, branch=BRANCH, pr_number=pr.number, pr_url=pr.url)
    handed: list[Any] = []
    daemon.reviews.on_feedback = lambda pid, feedback: handed.append(feedback)
    person = RecordingChannel()
    daemon.services.notifier.channels.append(person)  # type: ignore[attr-defined]
    try:
        yield daemon, handed, person
    finally:
        daemon.services.close()


def test_a_restart_neither_repeats_nor_forgets_a_fix_round(sandbox: Path, fake: FakeForge) -> None:
    with polled(sandbox, fake) as (daemon, handed, _):
        fake.add_check(1, "tests", conclusion="failure", log=FAILING_LOG)
        daemon.reviews.poll(force=True)  # re-run once
        daemon.reviews.poll(force=True)  # red again: to the agent
        assert [f.kind for f in handed] == ["ci"] and "assert 211 == 212" in handed[0].prompt
    with polled(sandbox, fake) as (restarted, handed_again, _):
        restarted.reviews.poll(force=True)
        assert handed_again == [] and len(fake.data.reruns) == 1
        state = restarted.store.get(P1)
        assert state is not None and state.extra["ci"]["rounds"] == 1 and state.extra["ci"]["handled"]


def test_checks_that_never_finish_hit_the_time_limit_with_a_sentence(sandbox: Path, fake: FakeForge) -> None:
    set_config(sandbox / "coffee_maker.toml", "forge", ci_timeout_s=0.3)
    with polled(sandbox, fake) as (daemon, handed, person):
        fake.add_check(1, "slow-e2e", "in_progress")
        daemon.reviews.poll(force=True)
        assert person.informed == []
        state = daemon.store.get(P1)
        assert state is not None
        wait_until(lambda: time.time() - state.extra["ci"]["since"] > 0.3, what="the time limit to pass")
        daemon.reviews.loop.not_before.clear()  # the pending back-off, not what is tested here
        daemon.reviews.poll(force=True)
        daemon.reviews.poll(force=True)
        told = [m for kind, m in person.informed if kind == "ci"]
        assert len(told) == 1 and "has not finished after" in told[0] and "slow-e2e" in told[0]
        assert handed == []


def test_a_failure_in_files_the_branch_did_not_touch_is_told_not_fixed(sandbox: Path, fake: FakeForge) -> None:
    git(sandbox, "push", "-q", "origin", f"HEAD:refs/heads/{BRANCH}")
    with polled(sandbox, fake) as (daemon, handed, person):
        work = sandbox / "weather" / "convert.py"
        work.write_text("def c2f(c):\n    return c * 9 / 5 + 32\n")
        git(sandbox, "checkout", "-qb", "work")
        git(sandbox, "add", "-A")
        git(sandbox, "commit", "-qm", "feat: c2f")
        git(sandbox, "push", "-qf", "origin", f"HEAD:refs/heads/{BRANCH}")
        daemon.services.git.fetch()
        fake.add_check(1, "docs-links", conclusion="failure",
                       log="##[group]Run lychee\nERROR docs/guide/install.md: 404 https://example.test/old\n")
        daemon.reviews.poll(force=True)
        told = [m for kind, m in person.informed if kind == "ci"]
        assert handed == [] and fake.data.reruns == []
        assert len(told) == 1 and "does not touch" in told[0] and "docs-links" in told[0]


def test_base_moved_with_a_conflict_is_merged_in_and_resolved_by_the_agent(sandbox: Path, fake: FakeForge) -> None:
    """main changes the same lines; the forge says not mergeable → main is merged into the branch in its
    worktree, the conflict goes to the agent, and its resolution is pushed as a fast-forward of the PR branch."""
    set_script(sandbox, "priority-1.json", FIX_SCRIPT)
    origin = sandbox.parent / "origin.git"
    with running(sandbox, fake, ci="ignore") as run:
        (sandbox / "weather").mkdir(exist_ok=True)
        (sandbox / "weather" / "convert.py").write_text("def c2f(c):\n    return 32 + c * 1.8\n")
        git(sandbox, "add", "-A")
        git(sandbox, "commit", "-qm", "feat: c2f on main")
        git(sandbox, "push", "-q", "origin", "HEAD:main")
        main_sha = git(sandbox, "rev-parse", "HEAD").strip()
        before = git(origin, "rev-parse", BRANCH).strip()
        fake.set_mergeable(1, False)
        wait_until(lambda: any("no longer merges cleanly" in p for p in run.prompts), what="the conflict prompt")
        prompt = next(p for p in run.prompts if "no longer merges cleanly" in p)
        assert "- weather/convert.py" in prompt
        wait_until(lambda: subprocess.run(["git", "merge-base", "--is-ancestor", main_sha, BRANCH],
                                          cwd=origin).returncode == 0 and run.phase() is Phase.PR_OPEN,
                   what="the resolution pushed")
        assert "+ 32" in origin_file(sandbox, "weather/convert.py") and "<<<<<<<" not in origin_file(
            sandbox, "weather/convert.py")
        assert subprocess.run(["git", "merge-base", "--is-ancestor", before, BRANCH], cwd=origin).returncode == 0
        assert run.state().extra["updated_onto"] == main_sha


def test_base_moved_without_conflict_is_merged_gated_and_pushed_without_the_agent(sandbox: Path,
                                                                                   fake: FakeForge) -> None:
    origin = sandbox.parent / "origin.git"
    with running(sandbox, fake, ci="ignore") as run:
        (sandbox / "NOTES.md").write_text("A note on main.\n")
        git(sandbox, "add", "-A")
        git(sandbox, "commit", "-qm", "docs: a note on main")
        git(sandbox, "push", "-q", "origin", "HEAD:main")
        main_sha = git(sandbox, "rev-parse", "HEAD").strip()
        fake.set_mergeable(1, False)
        wait_until(lambda: subprocess.run(["git", "merge-base", "--is-ancestor", main_sha, BRANCH],
                                          cwd=origin).returncode == 0, what="main merged into the PR branch")
        assert len(run.prompts) == 1 and origin_file(sandbox, "NOTES.md") == "A note on main.\n"
        run.daemon.reviews.poll(force=True)  # the same base is not merged again
        assert len(run.prompts) == 1 and run.state().extra["updated_onto"] == main_sha
