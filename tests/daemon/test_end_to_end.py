"""The daemon end to end on real git, the scripted agent and the local forge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.roadmap import parse_roadmap
from coffee_maker.testing.daemon_run import run_until_settled
from coffee_maker.testing.waiting import wait_until
from coffee_maker.types import Status
from tests.conftest import git
from tests.daemon.conftest import set_script


def _states(project: Path) -> dict[str, Phase]:
    return {s.priority: s.phase for s in StateStore(project / ".coffee_maker" / "state.db").all()}


def _interactions(project: Path) -> list[dict[str, object]]:
    return [json.loads(line) for path in sorted((project / "interaction_logs").glob("*.jsonl"))
            for line in path.read_text().splitlines()]


class TestTwoPriorities:
    def test_both_priorities_become_pull_requests(self, sandbox: Path) -> None:
        """Both priorities: branch pushed, PR record, roadmap ticked on the branch, person's checkout untouched."""
        roadmap_before = (sandbox / "docs" / "ROADMAP.md").read_bytes()
        assert run_until_settled(sandbox, settled=2, timeout_s=60, answer_delay_s=0.5) == 0
        assert _states(sandbox) == {"PRIORITY 1": Phase.PR_OPEN, "PRIORITY 2": Phase.PR_OPEN}
        origin = sandbox.parent / "origin.git"
        branches = git(origin, "branch", "--format=%(refname:short)").split()
        assert sorted(branches) == ["coffee-maker/priority-1-temperature-conversion-helpers",
                                    "coffee-maker/priority-2-forecast-summary", "main"]
        records = sorted((sandbox / ".coffee_maker" / "reviews").glob("*.json"))
        assert [json.loads(p.read_text())["number"] for p in records] == [1, 2]
        on_branch = git(sandbox, "show", "coffee-maker/priority-1-temperature-conversion-helpers:docs/ROADMAP.md")
        p1 = parse_roadmap(on_branch).get("PRIORITY 1")
        assert p1 is not None and p1.status is Status.COMPLETE and all(d.checked for d in p1.deliverables)
        assert "**PR**: file://" in p1.text
        assert (sandbox / "docs" / "ROADMAP.md").read_bytes() == roadmap_before
        assert git(sandbox, "status", "--porcelain") == ""
        log = git(origin, "log", "--format=%s%n%b", "coffee-maker/priority-1-temperature-conversion-helpers")
        assert "feat(priority-1): Temperature conversion helpers" in log and "Priority: PRIORITY 1" in log

    def test_interactions_are_logged(self, sandbox: Path) -> None:
        """One question answered by rule, one escalated and answered by a person, one permission denied."""
        run_until_settled(sandbox, settled=2, timeout_s=60, answer_delay_s=0.2)
        records = _interactions(sandbox)
        by_type = {r["interaction_type"] for r in records}
        assert {"auto_response", "user_response", "permission"} <= by_type
        denied = [r for r in records if r["interaction_type"] == "permission" and r["response"] == "deny"]
        assert denied and "git push" in str(denied[0]["question"])
        person = next(r for r in records if r["interaction_type"] == "user_response")
        assert person["response"] == "offline" and str(person["response_method"]).startswith("person:cli:")
        assert person["user_notified"] is True and "cli" in person["channels"]  # type: ignore[operator]
        for record in records:
            assert {"timestamp", "priority", "phase", "question", "context", "response", "response_method",
                    "response_time_seconds", "timed_out"} <= set(record)

    def test_unanswered_question_takes_safe_default(self, sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Nobody answers: the timeout gives the safe default, logged as timeout_default, and work goes on."""
        monkeypatch.setenv("COFFEE_MAKER_NOTIFY__TIMEOUT_S", "0.3")
        run_until_settled(sandbox, settled=2, timeout_s=60)
        timeouts = [r for r in _interactions(sandbox) if r["interaction_type"] == "timeout_default"]
        assert timeouts and timeouts[0]["response"] == "no" and timeouts[0]["timed_out"] is True
        assert _states(sandbox)["PRIORITY 2"] is Phase.PR_OPEN


class TestFailures:
    def test_three_failures_block_the_priority(self, sandbox: Path) -> None:
        """A failing agent is retried, then blocked with ⏸️ on its branch; the next priority still runs."""
        set_script(sandbox, "priority-1.json", {"steps": [
            {"write": "weather/half.py", "content": "x = 1\n"}, {"fail": "I could not finish."}]})
        run_until_settled(sandbox, settled=2, timeout_s=60, answer_delay_s=0.1)
        store = StateStore(sandbox / ".coffee_maker" / "state.db")
        p1 = store.get("PRIORITY 1")
        assert p1 is not None and p1.phase is Phase.BLOCKED and p1.attempt == 3
        assert "could not finish" in p1.reason
        history = store.history("PRIORITY 1")
        assert [h[1] for h in history].count("retry") == 2
        # The sandbox's retry_delay_s is 1: the second retry waits 1 s, the third 2 s (doubling).
        retried_at = [at for _, to, at, _ in history if to == "retry"]
        restarted_at = [at for previous, to, at, _ in history if previous == "retry" and to == "branched"]
        assert [b - a >= d for a, b, d in zip(retried_at, restarted_at, (1, 2), strict=True)] == [True, True]
        # Meanwhile the next priority went ahead instead of waiting behind the failing one.
        p2_started = store.history("PRIORITY 2")[0][2]
        assert p2_started < restarted_at[-1]
        branch = "coffee-maker/priority-1-temperature-conversion-helpers"
        on_branch = parse_roadmap(git(sandbox.parent / "origin.git", "show", f"{branch}:docs/ROADMAP.md"))
        assert on_branch.get("PRIORITY 1").status is Status.BLOCKED  # type: ignore[union-attr]
        assert "blocked" in git(sandbox.parent / "origin.git", "ls-tree", "-r", "--name-only", branch)
        assert _states(sandbox)["PRIORITY 2"] is Phase.PR_OPEN

    def test_failures_before_a_branch_also_count(self, sandbox: Path) -> None:
        """A worktree that can never be made fails the attempt before its branch: still 3 attempts, then blocked."""
        squatter = sandbox / ".coffee_maker" / "worktrees" / "priority-1-temperature-conversion-helpers"
        squatter.mkdir(parents=True)
        (squatter / "notes.txt").write_text("a person's file where the daemon wants its worktree\n")
        assert run_until_settled(sandbox, settled=2, timeout_s=60, answer_delay_s=0.1) == 0
        store = StateStore(sandbox / ".coffee_maker" / "state.db")
        p1 = store.get("PRIORITY 1")
        assert p1 is not None and p1.phase is Phase.BLOCKED and p1.attempt == 3 and p1.branch is None
        assert [h[1] for h in store.history("PRIORITY 1")] == ["retry", "retry", "blocked"]
        assert (squatter / "notes.txt").exists()
        assert _states(sandbox)["PRIORITY 2"] is Phase.PR_OPEN

    def test_failing_tests_go_back_to_the_agent(self, sandbox: Path) -> None:
        """A red test run is fed back to the agent in the same session, which fixes it."""
        set_script(sandbox, "priority-1.json", {"session_id": "s-fix", "steps": [
            {"write": "weather/convert.py", "content": "def c2f(c):\n    return c\n"},
            {"write": "tests/test_convert.py", "content":
                "import unittest\nfrom weather.convert import c2f\n\nclass T(unittest.TestCase):\n"
                "    def test(self):\n        self.assertEqual(c2f(0), 32)\n"},
            {"result": "Done."}],
            "resume_steps": [{"edit": "weather/convert.py", "old": "return c", "new": "return c * 9 / 5 + 32"},
                             {"result": "Fixed."}]})
        run_until_settled(sandbox, settled=2, timeout_s=60, answer_delay_s=0.1)
        assert _states(sandbox)["PRIORITY 1"] is Phase.PR_OPEN
        branch = "coffee-maker/priority-1-temperature-conversion-helpers"
        assert "c * 9 / 5 + 32" in git(sandbox, "show", f"{branch}:weather/convert.py")

    def test_secret_is_never_committed(self, sandbox: Path) -> None:
        """A secret in the agent's work blocks the commit every round; nothing with it reaches origin."""
        token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
        set_script(sandbox, "priority-1.json", {"steps": [
            {"write": "weather/config.py", "content": f"TOKEN = '{token}'\n"}, {"result": "Done."}]})
        run_until_settled(sandbox, settled=2, timeout_s=60, answer_delay_s=0.1)
        assert _states(sandbox)["PRIORITY 1"] is Phase.BLOCKED
        everything = git(sandbox.parent / "origin.git", "log", "--all", "-p")
        assert token not in everything


class TestOperations:
    def test_second_daemon_is_refused(self, sandbox: Path) -> None:
        """A second `coffee-maker run` names the pid that holds the lock and exits 1."""
        first = subprocess.Popen([sys.executable, "-m", "coffee_maker", "run", "--repo", str(sandbox)], cwd=sandbox,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        try:
            lock = sandbox / ".coffee_maker" / "daemon.lock"
            wait_until(lambda: lock.exists() and lock.read_text().strip(), timeout_s=30, what="the first daemon's lock")
            second = subprocess.run([sys.executable, "-m", "coffee_maker", "run", "--repo", str(sandbox)], cwd=sandbox,
                                    capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
            assert second.returncode == 1
            assert f"pid {first.pid}" in second.stderr and "Traceback" not in second.stderr
        finally:
            first.terminate()
            first.wait(30)

    def test_sigterm_during_agent_run(self, sandbox: Path) -> None:
        """SIGTERM while the agent hangs: the daemon exits cleanly and the priority resumes next time."""
        marker = f"sleep {100 + os.getpid() % 97}.{time.time_ns() % 1000:03d}"  # unique: no other test's process
        set_script(sandbox, "priority-1.json", {"steps": [{"run": marker}, {"result": "Done."}]})
        daemon = subprocess.Popen([sys.executable, "-m", "coffee_maker", "run", "--repo", str(sandbox)], cwd=sandbox,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        db = sandbox / ".coffee_maker" / "state.db"
        wait_until(lambda: db.exists() and _states(sandbox).get("PRIORITY 1") is Phase.AGENT_RUNNING, timeout_s=30,
                   what="PRIORITY 1's agent to run")
        wait_until(lambda: subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split(),
                   timeout_s=30, what="the agent's hanging command to start")
        daemon.terminate()
        _, err = daemon.communicate(timeout=60)
        assert daemon.returncode == 0, err
        assert _states(sandbox)["PRIORITY 1"] is Phase.AGENT_RUNNING  # checkpointed, resumes on restart
        leftovers = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()
        assert leftovers == []

    def test_status_and_dry_run(self, sandbox: Path) -> None:
        """`status --json` and `run --dry-run` describe the state without changing it."""
        from coffee_maker.cli import main

        assert main(["run", "--dry-run", "--repo", str(sandbox)]) == 0
        assert not (sandbox / ".coffee_maker" / "state.db").exists()
        run_until_settled(sandbox, settled=2, timeout_s=60, answer_delay_s=0.1)
        result = subprocess.run([sys.executable, "-m", "coffee_maker", "status", "--json", "--repo", str(sandbox)],
                                capture_output=True, text=True, check=True)
        status = json.loads(result.stdout)
        assert status["running"] is False and {p["phase"] for p in status["priorities"]} == {"pr_open"}
        assert status["cost_today_usd"] > 0
