"""Fix rounds on one PR through the real daemon and the shipped fake forge: one at a time, so a CI fix and a
review round both due never let the CI fix's commit answer the review threads; and a round that fails is
tried again as that round, on the same PR, within ``ci_fix_rounds``."""

from __future__ import annotations

from pathlib import Path

from coffee_maker.daemon.state import Phase
from coffee_maker.demo_lanes import answer_first_question
from coffee_maker.notify.inbox import Inbox
from coffee_maker.testing.config_edit import set_config
from coffee_maker.testing.fake_forge import FakeForge
from coffee_maker.testing.waiting import wait_until
from tests.conftest import git
from tests.daemon.conftest import set_script
from tests.daemon.pr_harness import BRANCH, origin_file, running
from tests.daemon.test_pr_loop import FAILING_LOG

#: Every resumed session (a CI or review round) adds a line: each round is its own commit.
ROUND_SCRIPT = {"session_id": "s-rounds", "steps": [
    {"write": "weather/convert.py", "content": "def c2f(c):\n    return c * 9 / 5 + 31\n"}, {"result": "Done."}],
    "resume_steps": [{"write": "weather/convert.py", "content": "def c2f(c):\n    return c * 9 / 5 + 32\n"},
                     {"run": "echo round >> weather/rounds.txt"}, {"result": "Fixed the offset in c2f."}]}


def _question_waiting(project: Path) -> bool:
    path = project / ".coffee_maker" / "inbox.db"
    if not path.exists():
        return False
    inbox = Inbox(path)
    try:
        return bool(inbox.waiting())
    finally:
        inbox.close()


def _fix_commits(origin: Path) -> list[str]:
    """The PR branch's review/CI fix commits, oldest first."""
    lines = git(origin, "log", "--reverse", "--format=%H %s", f"main..{BRANCH}").splitlines()
    return [line.split()[0] for line in lines if "(review feedback)" in line]


class TestOneRoundAtATime:
    def test_a_ci_fix_landing_first_does_not_answer_the_review_threads(self, sandbox: Path,
                                                                      fake: FakeForge) -> None:
        """One lane, busy with PRIORITY 2's question while P1's CI fix and a review comment both come due: the
        CI fix runs first, and the thread's "Fixed in" names the commit of the round that got the comment."""
        set_script(sandbox, "priority-1.json", ROUND_SCRIPT)
        origin = sandbox.parent / "origin.git"
        # Polled on every turn of the main loop: the poll between the two rounds that answers too early (the bug
        # this guards against) never depends on when the last one happened.
        with running(sandbox, fake, block_p2=False, interval_s=0.001) as run:
            wait_until(lambda: _question_waiting(sandbox), what="PRIORITY 2 holding the only lane with a question")
            fake.add_check(1, "tests", conclusion="failure", log=FAILING_LOG)
            wait_until(lambda: run.state().extra.get("ci", {}).get("rounds") == 1, what="the CI fix handed over")
            root = fake.review_comment(1, "The offset is wrong", path="weather/convert.py", line=2, user="ann")
            for _ in range(2):  # the review comment is seen while the CI fix waits for the lane
                run.daemon.reviews.poll(force=True)
            assert answer_first_question(sandbox)
            wait_until(lambda: any(c.get("in_reply_to_id") == root for c in fake.data.review_comments[1])
                       and len(_fix_commits(origin)) == 2 and run.state().phase.value == "pr_open",
                       what="both rounds pushed and the thread answered")
            ci_fix, review_fix = _fix_commits(origin)
            replies = [c["body"] for c in fake.data.review_comments[1] if c.get("in_reply_to_id") == root]
            assert replies == [f"Fixed in {review_fix[:7]}: Fixed the offset in c2f."], (ci_fix, replies)
            review_prompt = next(i for i, p in enumerate(run.prompts) if "The offset is wrong" in p)
            ci_prompt = next(i for i, p in enumerate(run.prompts) if "assert 211 == 212" in p)
            assert ci_prompt < review_prompt


#: The first resumed session leaves a failing test behind (the gate fails: the round fails); the next one removes it.
#: The marker lives beside the worktree, where no commit picks it up.
FLAKY_FIX_SCRIPT = {"session_id": "s-retry", "steps": ROUND_SCRIPT["steps"], "resume_steps": [
    {"write": "weather/convert.py", "content": "def c2f(c):\n    return c * 9 / 5 + 32\n"},
    {"run": "if [ -e ../fixed-once ]; then rm -f tests/test_not_yet.py; else touch ../fixed-once; "
            "printf 'import unittest\\n\\n\\nclass T(unittest.TestCase):\\n    def test_x(self):\\n"
            "        self.fail(\"not yet\")\\n' > tests/test_not_yet.py; fi"},
    {"result": "Fixed the offset in c2f."}]}


class TestAFailedFixRoundRetriesAsThatRound:
    def test_the_retry_is_the_same_ci_round_on_the_same_pr(self, sandbox: Path, fake: FakeForge) -> None:
        """The CI fix's gate fails (no gate rounds): the retry resumes the agent with the same check, step and log
        — not the task from scratch — and its fix goes to the same PR; both tries count as CI fix rounds."""
        set_script(sandbox, "priority-1.json", FLAKY_FIX_SCRIPT)
        set_config(sandbox / "coffee_maker.toml", "daemon", gate_fix_rounds=0, retry_delay_s=0.1)
        with running(sandbox, fake) as run:
            fake.add_check(1, "tests", conclusion="failure", log=FAILING_LOG)
            wait_until(lambda: "+ 32" in origin_file(sandbox, "weather/convert.py")
                       and run.phase() is Phase.PR_OPEN, what="the retried fix pushed")
            fixes = run.prompts[1:]
            assert len(fixes) == 2 and all("assert 211 == 212" in p and "Failing step: Run pytest" in p for p in fixes)
            assert not any("previous attempt failed" in p for p in run.prompts)
            assert len(fake.data.pulls) == 1 and run.state().extra["ci"]["rounds"] == 2
            assert "| Fix rounds | gate 0, CI 2, review 0 |" in fake.data.pulls[1]["body"]

    def test_a_retry_past_ci_fix_rounds_blocks_and_keeps_the_pr(self, sandbox: Path, fake: FakeForge) -> None:
        """ci_fix_rounds = 1 and the one round fails: no second try, no fresh start — blocked, PR and branch kept."""
        set_script(sandbox, "priority-1.json", FLAKY_FIX_SCRIPT)
        set_config(sandbox / "coffee_maker.toml", "daemon", gate_fix_rounds=0, retry_delay_s=0.1, ci_fix_rounds=1)
        with running(sandbox, fake) as run:
            fake.add_check(1, "tests", conclusion="failure", log=FAILING_LOG)
            wait_until(lambda: run.phase() is Phase.BLOCKED, what="the block")
            assert "ci_fix_rounds = 1" in run.state().reason and "/actions/runs/" in run.state().reason
            assert len(run.prompts) == 2 and fake.data.pulls[1]["state"] == "open"
            assert origin_file(sandbox, "weather/convert.py")

    def test_a_failed_review_round_is_retried_with_its_threads(self, sandbox: Path, fake: FakeForge) -> None:
        """The review round's gate fails: the retry gets the same comment, and the thread is answered once, naming
        the retry's commit; both tries count as review rounds."""
        set_script(sandbox, "priority-1.json", FLAKY_FIX_SCRIPT)
        set_config(sandbox / "coffee_maker.toml", "daemon", gate_fix_rounds=0, retry_delay_s=0.1)
        with running(sandbox, fake, ci="ignore") as run:
            root = fake.review_comment(1, "The offset is wrong", path="weather/convert.py", line=2, user="ann")
            wait_until(lambda: any(c.get("in_reply_to_id") == root for c in fake.data.review_comments[1])
                       and root in fake.data.resolved, what="the reply in the thread")
            assert len(run.prompts) == 3 and all("The offset is wrong" in p for p in run.prompts[1:])
            replies = [c["body"] for c in fake.data.review_comments[1] if c.get("in_reply_to_id") == root]
            assert replies == [f"Fixed in {run.state().commit_sha[:7]}: Fixed the offset in c2f."]
            assert run.state().extra["review_rounds"] == 2 and len(fake.data.pulls) == 1
