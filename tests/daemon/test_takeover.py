"""A daemon killed mid-agent: another daemon on another clone takes its priority over once the lease
expires, and finishes it — one PR, one branch, the claim now the survivor's."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.demo_lanes import build_lanes_sandbox, priority_script
from coffee_maker.testing.config_edit import set_config
from coffee_maker.testing.waiting import wait_until
from tests.conftest import git
from tests.daemon.conftest import start_daemon_process

CLAIM = "refs/coffee-maker/claims/priority-1"


def _phase(project: Path) -> Phase | None:
    db = project / ".coffee_maker" / "state.db"
    try:
        state = StateStore(db).get("PRIORITY 1") if db.exists() else None
    except Exception:  # noqa: BLE001 — the daemon may be writing; look again
        return None
    return state.phase if state else None


def _claim_message(origin: Path) -> str:
    return git(origin, "log", "-1", "--format=%B", CLAIM)


def test_a_killed_daemons_priority_is_taken_over_after_its_lease(tmp_path: Path) -> None:
    first = build_lanes_sandbox(tmp_path / "s", count=1, lanes=1, work_s=600)  # the agent works "forever"
    origin = tmp_path / "s" / "origin.git"
    set_config(first / "coffee_maker.toml", "daemon", claims=True, claim_lease_s=3.0, claim_skew_margin_s=0.5)
    second = tmp_path / "second"
    git(tmp_path, "clone", "-q", str(origin), str(second))
    git(second, "config", "user.name", "second machine")
    git(second, "config", "user.email", "second@example.invalid")
    (second / "coffee_maker.toml").write_text((first / "coffee_maker.toml").read_text())

    doomed = start_daemon_process(first)
    survivor: subprocess.Popen[bytes] | None = None
    try:
        wait_until(lambda: _phase(first) is Phase.AGENT_RUNNING, timeout_s=120, what="the first daemon's agent")
        wait_until(lambda: git(origin, "for-each-ref", "--format=%(refname)", CLAIM).strip() == CLAIM,
                   timeout_s=30, what="the first daemon's claim on the remote")
        held_by_first = _claim_message(origin)
        status = subprocess.run([sys.executable, "-m", "coffee_maker", "status", "--json", "--repo", str(second)],
                                capture_output=True, text=True, timeout=60, check=True)
        seen = json.loads(status.stdout)["other_claims"]  # the other machine's claim, read from the remote
        assert [c["priority"] for c in seen] == ["PRIORITY 1"] and seen[0]["expires_in_s"] <= 3
        doomed.send_signal(signal.SIGKILL)  # no clean stop: the claim stays until its lease runs out
        doomed.wait(timeout=30)
        scripts = tmp_path / "s" / "agent-scripts"
        (scripts / "priority-1.json").write_text(json.dumps(priority_script(1, work_s=0, asks=False)))

        survivor = start_daemon_process(second)
        wait_until(lambda: _phase(second) is Phase.PR_OPEN, timeout_s=180, what="the second daemon's PR")
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(timeout=60) == 0
    finally:
        for process in (doomed, survivor):
            if process is not None and process.poll() is None:
                process.kill()

    assert _claim_message(origin) != held_by_first  # the claim changed hands (compare-and-swap on the expired one)
    branches = [b for b in git(origin, "branch", "--format=%(refname:short)").split() if b.startswith("coffee-maker/")]
    assert branches == ["coffee-maker/priority-1-part-1"]
    assert git(origin, "show", f"{branches[0]}:weather/part1.py").strip()
    reviews = list((second / ".coffee_maker" / "reviews").glob("*.json"))
    assert len(reviews) == 1 and not list((first / ".coffee_maker" / "reviews").glob("*.json"))  # one PR, by the survivor
