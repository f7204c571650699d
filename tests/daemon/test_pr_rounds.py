"""Fix rounds on one PR, one at a time, through the real daemon and the shipped fake forge: a CI fix and a
review round both due never let the CI fix's commit answer the review threads."""

from __future__ import annotations

from pathlib import Path

from coffee_maker.demo_lanes import answer_first_question
from coffee_maker.notify.inbox import Inbox
from coffee_maker.testing.fake_forge import FakeForge
from coffee_maker.testing.waiting import wait_until
from tests.conftest import git
from tests.daemon.conftest import set_script
from tests.daemon.pr_harness import BRANCH, running
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
