"""The operator's commands: `stop`, `logs`, `doctor`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coffee_maker.cli import main
from coffee_maker.daemon.lock import lock_holder
from coffee_maker.demo import run_until_settled


def test_stop_ends_a_running_daemon(sandbox: Path) -> None:
    """`coffee-maker stop` sends SIGTERM to the lock holder and waits until the lock is free."""
    daemon = subprocess.Popen([sys.executable, "-m", "coffee_maker", "run", "--repo", str(sandbox)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**__import__("os").environ, "COFFEE_MAKER_NOTIFY__TIMEOUT_S": "0.5"})
    lock = sandbox / ".coffee_maker" / "daemon.lock"
    deadline = time.monotonic() + 30
    while lock_holder(lock) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lock_holder(lock) == daemon.pid
    result = subprocess.run([sys.executable, "-m", "coffee_maker", "stop", "--repo", str(sandbox)],
                            capture_output=True, text=True, timeout=90)
    assert result.returncode == 0 and f"pid {daemon.pid}" in result.stdout
    assert daemon.wait(30) == 0 and lock_holder(lock) is None
    again = subprocess.run([sys.executable, "-m", "coffee_maker", "stop", "--repo", str(sandbox)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "No coffee-maker daemon is running" in again.stdout


def test_logs_prints_recent_lines(sandbox: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`logs -n` renders the JSON log as readable lines; without a log it says so (exit 2)."""
    assert main(["logs", "--repo", str(sandbox)]) == 2
    assert "has not run" in capsys.readouterr().err
    subprocess.run([sys.executable, "-m", "coffee_maker", "run", "--once", "--repo", str(sandbox)],
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=120,
                   env={**__import__("os").environ, "COFFEE_MAKER_NOTIFY__TIMEOUT_S": "0.5"})
    assert main(["logs", "-n", "50", "--repo", str(sandbox)]) == 0
    out = capsys.readouterr().out
    assert "working on priority" in out and "priority=PRIORITY 1" in out


def test_doctor(sandbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`doctor --json` passes on the sandbox and names what is missing elsewhere, with a fix."""
    assert main(["doctor", "--json", "--repo", str(sandbox)]) == 0
    report = json.loads(capsys.readouterr().out)
    by_name = {c["name"]: c for c in report["checks"]}
    assert report["ok"] and by_name["remote"]["status"] == "ok" and by_name["agent"]["status"] == "ok"
    bare = tmp_path / "not-a-repo"
    bare.mkdir()
    assert main(["doctor", "--json", "--repo", str(bare)]) == 1
    failed = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"] if c["status"] == "fail"}
    assert "repository" in failed and "--repo" in failed["repository"]["fix"]


def test_status_next_up_before_and_after(sandbox: Path) -> None:
    """Before any run the status names PRIORITY 1 as next; after both are in review, nothing is next."""
    def status() -> dict[str, object]:
        result = subprocess.run([sys.executable, "-m", "coffee_maker", "status", "--json", "--repo", str(sandbox)],
                                capture_output=True, text=True, check=True, timeout=60)
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    before = status()
    assert before["running"] is False and before["priorities"] == []
    assert str(before["next_up"]).startswith("PRIORITY 1: Temperature conversion helpers")
    run_until_settled(sandbox, settled=2, timeout_s=60, answer_delay_s=0.1)
    after = status()
    assert [p["phase"] for p in after["priorities"]] == ["pr_open", "pr_open"]  # type: ignore[union-attr, index]
    assert after["next_up"] is None and after["pending_questions"] == 0
