"""The PR record is honest: deliverables are the agent's claims, not verified ticks, and a resumed
attempt keeps every session's decisions — through the real daemon, the scripted agent and the local forge."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from coffee_maker.roadmap import parse_roadmap
from coffee_maker.testing.daemon_run import run_until_settled
from coffee_maker.testing.waiting import wait_until
from tests.conftest import git
from tests.daemon.conftest import set_script
from tests.daemon.test_run_command import start_daemon, stop

P1_BRANCH = "coffee-maker/priority-1-temperature-conversion-helpers"
CONVERT = "`celsius_to_fahrenheit` and `fahrenheit_to_celsius` in `weather/convert.py`"
TESTS = "Unit tests in `tests/test_convert.py`"


def _pr_body(project: Path, branch: str) -> str:
    records = [json.loads(p.read_text()) for p in (project / ".coffee_maker" / "reviews").glob("*.json")]
    return str(next(r for r in records if r["branch"] == branch)["body"])


def _write(path: str) -> dict[str, object]:
    return {"write": path, "content": "X = 1\n", "ask_permission": True}


def test_deliverables_are_the_agents_claims_not_verified_ticks(sandbox: Path) -> None:
    """The agent claims one of two deliverables: the PR body says so, unticked for the reviewer, and
    the branch's roadmap ticks only the claimed one (the merge is the person's acceptance)."""
    set_script(sandbox, "priority-1.json", {"session_id": "s-claim", "steps": [
        {"write": "weather/convert.py", "content": "def celsius_to_fahrenheit(c):\n    return c * 9 / 5 + 32\n"},
        {"result": f"Added the helpers.\n\n- [x] {CONVERT}\n"}]})
    assert run_until_settled(sandbox, settled=2, timeout_s=60, answer_delay_s=0.1) == 0
    body = _pr_body(sandbox, P1_BRANCH)
    assert "- [x]" not in body, body  # nothing in the body claims a verification that did not happen
    assert "not verified one by one" in body and "the safety gate" in body
    assert f"- [ ] {CONVERT} — claimed done by the agent" in body
    assert f"- [ ] {TESTS} — not claimed by the agent" in body
    assert "Merging ticks the 1 claimed in the roadmap" in body
    on_branch = parse_roadmap(git(sandbox, "show", f"{P1_BRANCH}:docs/ROADMAP.md")).get("PRIORITY 1")
    assert on_branch is not None
    assert {d.text: d.checked for d in on_branch.deliverables} == {CONVERT: True, TESTS: False}


def test_no_claims_tick_nothing(sandbox: Path) -> None:
    """An agent that names no deliverable: the body says so and the branch's roadmap ticks none."""
    set_script(sandbox, "priority-1.json", {"session_id": "s-quiet", "steps": [
        {"write": "weather/convert.py", "content": "X = 1\n"}, {"result": "Done."}]})
    assert run_until_settled(sandbox, settled=2, timeout_s=60, answer_delay_s=0.1) == 0
    body = _pr_body(sandbox, P1_BRANCH)
    assert "The agent did not say which deliverables it completed" in body and "- [x]" not in body
    on_branch = parse_roadmap(git(sandbox, "show", f"{P1_BRANCH}:docs/ROADMAP.md")).get("PRIORITY 1")
    assert on_branch is not None and not any(d.checked for d in on_branch.deliverables)


def test_a_resumed_attempt_keeps_the_first_sessions_decisions(sandbox: Path) -> None:
    """A usage limit pauses the attempt after one decision; the resumed session makes another: the PR lists both."""
    set_script(sandbox, "priority-1.json", {"session_id": "s-limit", "steps": [
        _write("weather/first_session.py"),
        {"usage_limit": "5-hour limit reached", "reset_at": "+1"}],
        "resume_steps": [_write("weather/second_session.py"), {"result": "Finished after the limit reset."}]})
    assert run_until_settled(sandbox, settled=2, timeout_s=60, answer_delay_s=0.1) == 0
    body = _pr_body(sandbox, P1_BRANCH)
    assert "weather/first_session.py" in body, body
    assert "weather/second_session.py" in body


def test_a_crashed_attempt_keeps_the_first_sessions_decisions(sandbox: Path) -> None:
    """`coffee-maker run` is SIGKILLed mid-session after a decision; the restarted daemon resumes the
    session, and the PR lists the decisions of both sessions."""
    set_script(sandbox, "priority-1.json", {"session_id": "s-crash", "steps": [
        _write("weather/before_crash.py"), {"hang": True}],
        "resume_steps": [_write("weather/after_crash.py"), {"result": "Finished after the restart."}]})

    def decided() -> bool:  # the write was allowed and done: the agent now hangs in its first session
        worktree = sandbox / ".coffee_maker" / "worktrees" / "priority-1-temperature-conversion-helpers"
        return (worktree / "weather" / "before_crash.py").exists()

    daemon = start_daemon(sandbox)
    try:
        wait_until(decided, what="the first session's decision")
    finally:
        stop(daemon, signal.SIGKILL)
    assert run_until_settled(sandbox, settled=2, timeout_s=60, answer_delay_s=0.1) == 0
    body = _pr_body(sandbox, P1_BRANCH)
    assert "weather/before_crash.py" in body, body
    assert "weather/after_crash.py" in body
