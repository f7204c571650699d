"""A daemon killed mid-agent: another daemon on another clone takes its priority over once the lease
expires, and finishes it — one PR, one branch, the claim now the survivor's."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.demo_lanes import build_lanes_sandbox
from coffee_maker.testing.config_edit import set_config
from coffee_maker.testing.waiting import wait_until
from coffee_maker.vcs.claims import ClaimHeldError, ClaimStore
from tests.conftest import git
from tests.daemon.conftest import daemon_processes, start_daemon_process, stop_daemons
from tests.daemon.test_pr_adoption import push_other_daemons_branch

CLAIM = "refs/coffee-maker/claims/priority-1"
WIP = "refs/coffee-maker/wip/priority-1"
FIRST_HALF = '"""Part 1, written on the first machine."""\n\nVALUE = 1\n'
SECOND_HALF = ("import unittest\n\nfrom weather.part1 import VALUE\n\n\nclass Part1Test(unittest.TestCase):\n"
               "    def test_value(self) -> None:\n        self.assertEqual(VALUE, 1)\n")


def _phase(project: Path) -> Phase | None:
    db = project / ".coffee_maker" / "state.db"
    try:
        state = StateStore(db).get("PRIORITY 1") if db.exists() else None
    except Exception:  # noqa: BLE001 — the daemon may be writing; look again
        return None
    return state.phase if state else None


def _checkpointed(origin: Path) -> bool:
    """The first half is in a checkpoint (one pushed before the agent wrote it holds no such file yet)."""
    shown = subprocess.run(["git", "show", f"{WIP}:weather/part1.py"], cwd=origin, capture_output=True, text=True,
                           check=False)
    return shown.returncode == 0 and "first machine" in shown.stdout


def _claim_message(origin: Path) -> str:
    return git(origin, "log", "-1", "--format=%B", CLAIM)


def test_a_killed_daemons_priority_is_taken_over_after_its_lease(tmp_path: Path) -> None:
    first = build_lanes_sandbox(tmp_path / "s", count=1, lanes=1)
    scripts = tmp_path / "s" / "agent-scripts"
    # The first machine's agent writes half the work, then works "forever": only a checkpoint saves that half.
    (scripts / "priority-1.json").write_text(json.dumps({"session_id": "first", "model": "scripted", "steps": [
        {"write": "weather/part1.py", "content": FIRST_HALF}, {"sleep": 600}]}))
    origin = tmp_path / "s" / "origin.git"
    set_config(first / "coffee_maker.toml", "daemon", claims=True, claim_lease_s=3.0, claim_skew_margin_s=0.5)
    second = tmp_path / "second"
    git(tmp_path, "clone", "-q", str(origin), str(second))
    git(second, "config", "user.name", "second machine")
    git(second, "config", "user.email", "second@example.invalid")
    (second / "coffee_maker.toml").write_text((first / "coffee_maker.toml").read_text())

    doomed = start_daemon_process(first)
    survivor: subprocess.Popen[bytes] | None = None
    back: subprocess.Popen[bytes] | None = None
    try:
        wait_until(lambda: _phase(first) is Phase.AGENT_RUNNING, timeout_s=120, what="the first daemon's agent")
        wait_until(lambda: git(origin, "for-each-ref", "--format=%(refname)", CLAIM).strip() == CLAIM,
                   timeout_s=30, what="the first daemon's claim on the remote")
        # Renewing the claim while the agent works pushes its work in progress beside the claim.
        wait_until(lambda: _checkpointed(origin), timeout_s=60, what="a checkpoint of the first half")
        held_by_first = _claim_message(origin)
        status = subprocess.run([sys.executable, "-m", "coffee_maker", "status", "--json", "--repo", str(second)],
                                capture_output=True, text=True, timeout=60, check=True)
        seen = json.loads(status.stdout)["other_claims"]  # the other machine's claim, read from the remote
        assert [c["priority"] for c in seen] == ["PRIORITY 1"] and seen[0]["expires_in_s"] <= 3
        assert json.loads(status.stdout)["next_up"] is None  # held elsewhere: not what this daemon would pick
        doomed.send_signal(signal.SIGKILL)  # no clean stop: the claim stays until its lease runs out
        doomed.wait(timeout=30)
        # The survivor's agent writes only the second half and checks the first is there.
        (scripts / "priority-1.json").write_text(json.dumps({"session_id": "second", "model": "scripted", "steps": [
            {"run": "grep -q 'first machine' weather/part1.py"},
            {"write": "tests/test_part1.py", "content": SECOND_HALF},
            {"result": "Finished part 1.\n\n- [x] `weather/part1.py`\n- [x] Unit test in `tests/test_part1.py`"}]}))

        survivor = start_daemon_process(second)
        wait_until(lambda: _phase(second) is Phase.PR_OPEN, timeout_s=180, what="the second daemon's PR")
        # The first machine comes back while the survivor holds the claim: it leaves the priority, saying why.
        back = start_daemon_process(first)
        wait_until(lambda: _phase(first) is Phase.SKIPPED, timeout_s=60, what="the first daemon to leave PRIORITY 1")
        back.send_signal(signal.SIGTERM)
        assert back.wait(timeout=60) == 0
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(timeout=60) == 0
    finally:
        for process in (doomed, survivor, back):
            if process is not None and process.poll() is None:
                process.kill()

    assert _claim_message(origin) != held_by_first  # the claim changed hands (compare-and-swap on the expired one)
    branches = [b for b in git(origin, "branch", "--format=%(refname:short)").split() if b.startswith("coffee-maker/")]
    assert branches == ["coffee-maker/priority-1-part-1"]
    assert git(origin, "show", f"{branches[0]}:weather/part1.py") == FIRST_HALF  # from the checkpoint
    assert git(origin, "show", f"{branches[0]}:tests/test_part1.py").strip()
    left = StateStore(first / ".coffee_maker" / "state.db").get("PRIORITY 1")
    assert left is not None and "taken over by" in left.reason and "which continues the work" in left.reason
    reviews = list((second / ".coffee_maker" / "reviews").glob("*.json"))
    assert len(reviews) == 1 and not list((first / ".coffee_maker" / "reviews").glob("*.json"))  # one PR, by the survivor


def test_a_daemon_whose_claim_is_taken_over_during_the_gate_pushes_nothing(tmp_path: Path) -> None:
    """On a loaded machine a renewal can come too late: another daemon takes the claim over while this
    one's gate still runs. This one must then push nothing — no branch, no PR — and leave the priority
    to its heir, rather than race it to the same branch (seen as a priority done twice under load)."""
    project = build_lanes_sandbox(tmp_path / "s", count=1, lanes=1)
    origin, go = tmp_path / "s" / "origin.git", tmp_path / "go"
    set_config(project / "coffee_maker.toml", "daemon", claims=True, claim_lease_s=30.0)
    # The gate's tests wait until the claim has changed hands (no clock in the test).
    set_config(project / "coffee_maker.toml", "git",
               test_command=f"while [ ! -e {go} ]; do sleep 0.05; done; python -m unittest discover -s tests -q")
    heir_clone = tmp_path / "heir"
    git(tmp_path, "clone", "-q", str(origin), str(heir_clone))
    with daemon_processes([project]) as daemons:
        wait_until(lambda: _phase(project) is Phase.VALIDATING, timeout_s=120, what="the gate under way")
        # The heir's clock is an hour ahead: to it, the lease has run out (the real compare-and-swap decides).
        heir = ClaimStore(heir_clone, remote="origin", owner="vm/heir", lease_s=30.0, margin_s=0.5,
                          clock=lambda: time.time() + 3600)

        def take_over() -> bool:
            try:
                return heir.acquire("PRIORITY 1", "priority-1").taken_from is not None
            except ClaimHeldError:  # the daemon renewed it in the same moment (its checkpoint as the gate began)
                return False

        wait_until(take_over, timeout_s=60, what="the heir's take-over")
        go.touch()
        wait_until(lambda: _phase(project) is Phase.SKIPPED, timeout_s=120, what="the priority left to its heir")
        stop_daemons(daemons)
    assert git(origin, "for-each-ref", "--format=%(refname)", "refs/heads/coffee-maker/").split() == []
    assert not list((project / ".coffee_maker" / "reviews").glob("*.json"))  # no PR
    assert "vm/heir" in str(StateStore(project / ".coffee_maker" / "state.db").get("PRIORITY 1").reason)


def test_a_priority_in_review_on_another_daemons_branch_is_not_started_again(tmp_path: Path) -> None:
    """Another daemon's PR for PRIORITY 1 is open (its branch on the remote has the roadmap ticked, the last
    thing an attempt pushes) but its claim is gone — it expired while that daemon was busy. This daemon
    may claim it, and must give it back rather than do the work a second time."""
    project = build_lanes_sandbox(tmp_path / "s", count=1, lanes=1)
    origin = tmp_path / "s" / "origin.git"
    set_config(project / "coffee_maker.toml", "daemon", claims=True)
    push_other_daemons_branch(tmp_path, origin)
    tip = git(origin, "rev-parse", "coffee-maker/priority-1-part-1")
    log_file = project / ".coffee_maker" / "coffee-maker.log"
    with daemon_processes([project]) as daemons:
        wait_until(lambda: log_file.exists() and "PR for this priority is in review" in log_file.read_text(),
                   timeout_s=120, what="the claim given back")
        stop_daemons(daemons)
    assert _phase(project) is None  # never started here
    assert git(origin, "rev-parse", "coffee-maker/priority-1-part-1") == tip
    assert git(origin, "for-each-ref", "--format=%(refname)", "refs/coffee-maker/").split() == []  # given back
