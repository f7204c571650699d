"""The real Claude Code CLI, played by the local fake Anthropic API, fixes a failing CI check from its log."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from coffee_maker.daemon.state import Phase
from coffee_maker.testing.config_edit import set_config
from coffee_maker.testing.fake_anthropic import FakeAnthropic, Turn
from coffee_maker.testing.fake_forge import FakeForge
from coffee_maker.testing.waiting import wait_until
from tests.conftest import git
from tests.daemon.pr_harness import BRANCH, running
from tests.daemon.test_pr_loop import FAILING_LOG

BUGGY = "def c2f(c):\n    return c * 9 / 5 + 31\n"
FIXED = "def c2f(c):\n    return c * 9 / 5 + 32\n"


def model_for(worktree: Path) -> Any:
    """The model's side of both sessions, read from what it is sent: the task gets the (buggy) helper; a CI
    failure gets the file its log excerpt names rewritten — nothing here knows that file in advance."""

    def respond(body: dict[str, Any]) -> Turn | None:
        if not body.get("tools"):
            return None  # a side request of the CLI: the default answer
        last = json.dumps(body["messages"][-1])
        if (named := re.search(r"FAILED (\S+?)::", last)) is not None and "Log excerpt" in last:
            return Turn.tool("Write", {"file_path": str(worktree / named[1]), "content": FIXED})
        if "tool_result" in last:
            fixing = "Log excerpt" in json.dumps(body["messages"])
            return Turn.say("Fixed the offset in c2f, as the CI log showed." if fixing else "Added c2f.")
        return Turn.tool("Write", {"file_path": str(worktree / "weather" / "convert.py"), "content": BUGGY})

    return respond


@pytest.mark.claude_cli
def test_the_real_claude_cli_fixes_a_red_check_from_its_log(sandbox: Path, fake: FakeForge, claude_bin: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Red check (re-run once, red again) → the CLI is resumed with the log excerpt in its prompt → it edits the
    file the log names → the fix is pushed to the same PR → the new head's check is green: one fix round."""
    worktree = sandbox / ".coffee_maker" / "worktrees" / "priority-1-temperature-conversion-helpers"
    set_config(sandbox / "coffee_maker.toml", "agent", backend="claude", binary=claude_bin, auth="api_key",
               idle_timeout_s=60, total_timeout_s=120)
    origin = sandbox.parent / "origin.git"
    with FakeAnthropic(responder=model_for(worktree)) as api:
        for key, value in api.cli_env().items():
            monkeypatch.setenv(key, value)
        with running(sandbox, fake) as run:
            assert git(origin, "show", f"{BRANCH}:weather/convert.py") == BUGGY
            first = git(origin, "rev-parse", BRANCH).strip()
            fake.add_check(1, "tests", conclusion="failure", log=FAILING_LOG)
            wait_until(lambda: git(origin, "rev-parse", BRANCH).strip() != first and run.phase() is Phase.PR_OPEN,
                       timeout_s=120, what="the fix pushed")
            sent = [json.dumps(r["messages"][-1]) for r in api.model_requests]
            asked = [m for m in sent if "Log excerpt" in m]
            assert len(asked) == 1 and "assert 211 == 212" in asked[0] and "Failing step: Run pytest" in asked[0]
            assert "/actions/runs/" in asked[0]
            assert git(origin, "show", f"{BRANCH}:weather/convert.py") == FIXED
            assert len(fake.data.pulls) == 1
            fixed = git(origin, "rev-parse", BRANCH).strip()
            fake.set_head(1, fixed)  # GitHub sees the push, and CI passes on it
            fake.add_check(1, "tests", conclusion="success")
            wait_until(lambda: run.state().extra["ci"]["sha"] == fixed and "tests: success" in str(
                run.state().extra.get("checks_seen")), what="the new head's green check")
            requests = len(api.model_requests)
            run.daemon.reviews.poll(force=True)
            assert len(api.model_requests) == requests and run.state().extra["ci"]["rounds"] == 1
            assert run.state().cost_usd > 0 and run.state().session_id
