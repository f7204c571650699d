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
from coffee_maker.testing.daemon_run import run_until_settled


def test_stop_ends_a_running_daemon(sandbox: Path) -> None:
    """`coffee-maker stop` sends SIGTERM to the lock holder and waits until the lock is free."""
    daemon = subprocess.Popen([sys.executable, "-m", "coffee_maker", "run", "--repo", str(sandbox)], cwd=sandbox,
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
    assert report["ok"] and by_name["readiness"]["status"] == "ok" and by_name["agent"]["status"] == "ok"
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


def _cm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real command typed in ``cwd`` (no --repo: the repository is found from there)."""
    env = {**__import__("os").environ, "COFFEE_MAKER_NOTIFY__TIMEOUT_S": "0.5"}
    return subprocess.run([sys.executable, "-m", "coffee_maker", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL, env=env)


def test_commands_from_a_subdirectory(sandbox: Path) -> None:
    """From `docs/`, `status` sees the running daemon, `pending` the waiting question, `doctor` the repository
    (and does not suggest `init`), `roadmap next` the roadmap; a broken config then does not lock anyone out:
    `status`, `pending`, `logs` and `stop` work, and `doctor` shows a ✗ config row with a did-you-mean."""
    from coffee_maker.notify.inbox import Inbox

    docs = sandbox / "docs"
    assert "Next: PRIORITY 1" in _cm("roadmap", "next", cwd=docs).stdout
    doctor_report = json.loads(_cm("doctor", "--json", cwd=docs).stdout)
    rows = {c["name"]: c for c in doctor_report["checks"]}
    assert rows["repository"]["detail"] == str(sandbox) and rows["roadmap"]["status"] != "fail"
    assert not any("init" in c["fix"] for c in doctor_report["checks"])
    assert not (docs / "coffee_maker.toml").exists()

    daemon = subprocess.Popen([sys.executable, "-m", "coffee_maker", "run"], cwd=sandbox, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**__import__("os").environ, "COFFEE_MAKER_NOTIFY__TIMEOUT_S": "600"})
    lock = sandbox / ".coffee_maker" / "daemon.lock"
    try:
        deadline = time.monotonic() + 30
        while lock_holder(lock) != daemon.pid and time.monotonic() < deadline:
            time.sleep(0.05)
        status = json.loads(_cm("status", "--json", cwd=docs).stdout)
        assert status["running"] is True and status["pid"] == daemon.pid
        question = Inbox(sandbox / ".coffee_maker" / "inbox.db").add(
            "Deploy to production?", kind="question", options=["yes", "no"], safe_default="no", timeout_s=600)
        assert question.id in [q["id"] for q in json.loads(_cm("pending", "--json", cwd=docs).stdout)]

        config = sandbox / "coffee_maker.toml"
        config.write_text(config.read_text() + "max_atempts = 2\n")  # a typo, while the daemon runs
        broken = _cm("status", cwd=docs)
        assert broken.returncode == 0 and f"running (pid {daemon.pid})" in broken.stdout
        assert "max_atempts" in broken.stderr and "Did you mean `max_attempts`?" in broken.stderr
        assert question.id in _cm("pending", cwd=docs).stdout
        assert _cm("logs", "-n", "5", cwd=docs).returncode == 0
        doctor_broken = _cm("doctor", "--json", cwd=docs)
        assert doctor_broken.returncode == 1 and "Traceback" not in doctor_broken.stderr
        config_row = next(c for c in json.loads(doctor_broken.stdout)["checks"] if c["name"] == "config")
        assert config_row["status"] == "fail" and "Did you mean `max_attempts`?" in config_row["detail"]
        assert _cm("roadmap", "list", cwd=docs).returncode == 2  # commands that need the config still say why
        stopped = _cm("stop", cwd=docs)
        assert stopped.returncode == 0 and f"pid {daemon.pid}" in stopped.stdout, stopped
        assert daemon.wait(30) is not None
    finally:
        if daemon.poll() is None:
            daemon.terminate()
            daemon.wait(30)


def test_run_priority_accepts_the_number(sandbox: Path) -> None:
    """`run --priority 2` works on PRIORITY 2 (the id forms `roadmap show` accepts), not on PRIORITY 1."""
    result = _cm("run", "--priority", "2", cwd=sandbox)
    assert result.returncode == 0, result.stderr
    status = json.loads(_cm("status", "--json", cwd=sandbox).stdout)
    assert [(p["id"], p["phase"]) for p in status["priorities"]] == [("PRIORITY 2", "pr_open")]
