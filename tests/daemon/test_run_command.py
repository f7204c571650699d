"""`coffee-maker run` as a person runs it: a subprocess, real git, the scripted agent, the real log file.

Exit codes, what the daemon waits out instead of dying on, and what it says while it works.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from coffee_maker.daemon.lock import lock_holder
from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.errors import ExitCode
from coffee_maker.testing.config_edit import set_config
from coffee_maker.testing.waiting import wait_until
from tests.conftest import git
from tests.daemon.conftest import add_config, set_script


def env() -> dict[str, str]:
    """The test's environment (isolated HOME, git identity) as the subprocess sees it."""
    return {**os.environ, "COFFEE_MAKER_NOTIFY__TIMEOUT_S": "0.5"}


def cm(project: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "coffee_maker", *args, "--repo", str(project)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, env=env())


def start_daemon(project: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "coffee_maker", "run", "--repo", str(project)], cwd=project,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=env())


def log_text(project: Path) -> str:
    path = project / ".coffee_maker" / "coffee-maker.log"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def log_events(project: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log_text(project).splitlines() if line.startswith("{")]


def store(project: Path) -> StateStore:
    return StateStore(project / ".coffee_maker" / "state.db")


def phase(project: Path, pid: str) -> Phase | None:
    db = project / ".coffee_maker" / "state.db"
    state = StateStore(db).get(pid) if db.exists() else None
    return state.phase if state else None


def stop(daemon: subprocess.Popen[str], sig: int = signal.SIGTERM) -> int:
    daemon.send_signal(sig)
    try:
        return daemon.wait(60)
    except subprocess.TimeoutExpired:
        daemon.kill()  # never leave a daemon behind a failed test
        raise


FAILING = {"session_id": "s-fail", "steps": [{"say": "trying", "cost": 0.01}, {"fail": "the agent gave up"}]}


class TestTransientProblems:
    def test_empty_roadmap_is_waited_out(self, sandbox: Path) -> None:
        """An emptied roadmap (an editor's truncate-then-write) is logged as an error; the daemon keeps
        running and works on the roadmap once it is valid again."""
        roadmap = sandbox / "docs" / "ROADMAP.md"
        text = roadmap.read_text()
        roadmap.write_text("")
        daemon = start_daemon(sandbox)
        try:
            wait_until(lambda: "is empty" in log_text(sandbox), what="the empty-roadmap error in the log")
            errors = [e for e in log_events(sandbox) if e.get("level") == "error"]
            assert errors and "is empty" in str(errors[0]["problem"])
            status = json.loads(cm(sandbox, "status", "--json").stdout)
            assert status["running"] and "is empty" in status["problem"]
            assert daemon.poll() is None  # still running
            roadmap.write_text(text)
            wait_until(lambda: phase(sandbox, "PRIORITY 1") is Phase.PR_OPEN, what="PRIORITY 1's PR")
            assert "the problem is gone" in log_text(sandbox)
        finally:
            code = stop(daemon)
        assert code == ExitCode.OK
        errors = [e for e in log_events(sandbox) if e.get("level") == "error"]
        assert len(errors) == 1  # said once, not at every wake-up

    def test_unpushed_roadmap_is_refused_until_pushed(self, sandbox: Path) -> None:
        """A priority planned only in the person's checkout is not started (no attempt used): the daemon says
        to push the roadmap, keeps checking, and starts once it is on origin's default branch."""
        roadmap = sandbox / "docs" / "ROADMAP.md"
        roadmap.write_text(roadmap.read_text().replace("## PRIORITY 1:", "## PRIORITY 0: Units module\n\n"
                                                       "**Status**: 📝 Planned\n\nA units module.\n\n## PRIORITY 1:"))
        set_script(sandbox, "priority-0.json", {"session_id": "s0", "steps": [
            {"write": "weather/units.py", "content": "UNITS = ('C', 'F')\n"}, {"result": "Added units."}]})
        daemon = start_daemon(sandbox)
        try:
            wait_until(lambda: "not in the one on origin/main" in log_text(sandbox), what="the unpushed-roadmap error")
            assert phase(sandbox, "PRIORITY 0") is None  # no attempt used
            git(sandbox, "commit", "-qam", "docs: plan PRIORITY 0")
            git(sandbox, "push", "-q", "origin", "main")
            wait_until(lambda: phase(sandbox, "PRIORITY 0") is Phase.PR_OPEN, what="PRIORITY 0's PR")
        finally:
            stop(daemon)
        state = store(sandbox).get("PRIORITY 0")
        assert state is not None and state.attempt == 1


class TestExitCodes:
    def test_success_and_ctrl_c(self, sandbox: Path) -> None:
        """`run --once` that opens a PR exits 0; Ctrl-C on a running daemon exits 130."""
        assert cm(sandbox, "run", "--once").returncode == ExitCode.OK
        daemon = start_daemon(sandbox)
        wait_until(lambda: lock_holder(sandbox / ".coffee_maker" / "daemon.lock") == daemon.pid
                 and log_text(sandbox).count('"daemon started"') == 2, what="the second daemon's start")
        assert stop(daemon, signal.SIGINT) == ExitCode.INTERRUPTED

    def test_failures_wait_for_the_retry_then_block(self, sandbox: Path) -> None:
        """A failed attempt is retried within the run when the retry is due soon; blocked exits 3."""
        set_script(sandbox, "priority-1.json", FAILING)
        config = sandbox / "coffee_maker.toml"
        set_config(config, "daemon", retry_delay_s=0.2, max_attempts=2)
        result = cm(sandbox, "run", "--once", "--priority", "PRIORITY 1")
        assert result.returncode == ExitCode.BLOCKED, result.stderr
        assert "waiting for the next attempt of PRIORITY 1" in result.stderr
        state = store(sandbox).get("PRIORITY 1")
        assert state is not None and state.phase is Phase.BLOCKED and state.attempt == 2

    def test_a_retry_far_away_is_named(self, sandbox: Path) -> None:
        """When the retry is not due within the run, `run --once` says when it is due and exits 1."""
        set_script(sandbox, "priority-1.json", FAILING)
        config = sandbox / "coffee_maker.toml"
        set_config(config, "daemon", retry_delay_s=3600)
        result = cm(sandbox, "run", "--once")
        assert result.returncode == ExitCode.FAILED
        assert "next attempt is due at" in result.stderr
        status = json.loads(cm(sandbox, "status", "--json").stdout)
        retry_at = next(p["retry_at"] for p in status["priorities"] if p["id"] == "PRIORITY 1")
        assert retry_at > time.time() + 3000
        due = time.strftime("%H:%M:%S", time.localtime(retry_at))
        text = cm(sandbox, "status").stdout
        assert f"next attempt at {due}" in text and "retrying in" not in text
        dry = cm(sandbox, "run", "--dry-run")
        # The dry run agrees with the real run: PRIORITY 1 waits for its retry, PRIORITY 2 goes ahead.
        assert f"would skip PRIORITY 1: its next attempt is due at {due}" in dry.stdout
        assert "would work on PRIORITY 2" in dry.stdout

    def test_auth_failure_exits_6(self, sandbox: Path) -> None:
        """An agent that cannot authenticate ends `run --once` with 6, logged as an error."""
        set_script(sandbox, "priority-1.json", {"steps": [{"fail": "Invalid API key", "kind": "auth_failed"}]})
        result = cm(sandbox, "run", "--once")
        assert result.returncode == ExitCode.AUTH_FAILED
        assert any(e.get("level") == "error" and "authenticat" in str(e["event"]) for e in log_events(sandbox))
        assert json.loads(cm(sandbox, "status", "--json").stdout)["current"] is None

    def test_bad_configuration_exits_2(self, sandbox: Path) -> None:
        add_config(sandbox, "[nonsense]\nkey = 1\n")
        result = cm(sandbox, "run", "--once")
        assert result.returncode == ExitCode.USAGE and "Traceback" not in result.stderr


class TestRepositoryNotReady:
    def test_no_commits_and_empty_origin(self, tmp_path: Path) -> None:
        """A repository with no commits, then one whose origin is empty: one sentence each, no attempt used."""
        origin = tmp_path / "origin.git"
        git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
        project = tmp_path / "project"
        git(tmp_path, "clone", "-q", str(origin), str(project))
        assert cm(project, "init").returncode == 0
        result = cm(project, "run", "--once")
        assert result.returncode == ExitCode.FAILED and "has no commits yet" in result.stderr
        assert "Traceback" not in result.stderr and "default_branch" not in result.stderr
        git(project, "add", "-A")
        git(project, "commit", "-qm", "chore: start")
        result = cm(project, "run", "--once")
        assert result.returncode == ExitCode.FAILED and "has no branches yet" in result.stderr
        db = project / ".coffee_maker" / "state.db"
        assert not db.exists() or StateStore(db).all() == []  # no attempt was used

    def test_init_says_what_to_commit(self, tmp_path: Path) -> None:
        result = cm(tmp_path, "init")
        assert "git add coffee_maker.toml docs/ROADMAP.md && git commit" in result.stdout
        assert "git push" in result.stdout


class TestWhatItSays:
    def test_agent_actions_and_idle_reason(self, sandbox: Path) -> None:
        """Each decision is one compact line; `status` shows the last; an idle daemon says once what it waits for."""
        daemon = start_daemon(sandbox)
        try:
            wait_until(lambda: "idle: waiting for review of PR #1" in log_text(sandbox) and "PR #2" in log_text(sandbox),
                     what="both PRs and the idle line")
            idle_since = float(store(sandbox).info()["heartbeat"])
            # Two more polls (poll_interval_s = 2) must not repeat the idle line.
            wait_until(lambda: float(store(sandbox).info()["heartbeat"]) > idle_since + 3, what="two more polls")
        finally:
            stop(daemon)
        text = log_text(sandbox)
        assert "Bash git push origin main → denied by rule" in text
        assert "Write weather/convert.py → allowed by rule" in text
        idle = [e for e in log_events(sandbox) if str(e.get("event")).startswith("idle: waiting for review")]
        assert len(idle) == 1
        assert "→" in str(json.loads(cm(sandbox, "status", "--json").stdout)["last_action"])

    def test_gate_failure_shows_the_test_output(self, sandbox: Path) -> None:
        """A failing test command: the last lines of its output reach the log, `status` and the blocked notice."""
        config = sandbox / "coffee_maker.toml"
        failing = "python -c \"import sys; print('E   ModuleNotFoundError: No module named pytest'); sys.exit(1)\""
        set_config(config, "git", test_command=failing)
        set_config(config, "daemon", retry_delay_s=0.1, max_attempts=1, gate_fix_rounds=1)
        result = cm(sandbox, "run", "--once", "--priority", "PRIORITY 1")
        assert result.returncode == ExitCode.BLOCKED, result.stderr
        assert "gate failed, asking the agent to fix it (round 1 of 1)" in log_text(sandbox)
        notices = [e for e in log_events(sandbox) if e.get("notice") == "blocked"]
        assert notices and "No module named pytest" in str(notices[0]["event"])
        status = json.loads(cm(sandbox, "status", "--json").stdout)
        assert "No module named pytest" in status["priorities"][0]["reason"]


def test_dry_run_writes_no_log(sandbox: Path) -> None:
    """`run --dry-run` changes nothing: no log file, no state."""
    result = cm(sandbox, "run", "--dry-run")
    assert result.returncode == 0 and "would work on PRIORITY 1" in result.stdout
    assert not (sandbox / ".coffee_maker" / "coffee-maker.log").exists()


class TestBudget:
    def _caps(self, sandbox: Path, **caps: float) -> None:
        set_config(sandbox / "coffee_maker.toml", "daemon", retry_delay_s=0.1, **caps)

    def test_hard_cap_stops_the_session_that_crosses_it(self, sandbox: Path) -> None:
        """The session is stopped at the step that crosses the priority's hard cap, the priority is blocked
        (exit 5), and every cap crossed is told once — the daily soft cap too, although the hard cap decides."""
        self._caps(sandbox, priority_hard_cap_usd=0.005, daily_soft_cap_usd=0.005)
        result = cm(sandbox, "run", "--once", "--priority", "PRIORITY 1")
        assert result.returncode == ExitCode.BUDGET, result.stderr
        state = store(sandbox).get("PRIORITY 1")
        assert state is not None and state.phase is Phase.BLOCKED
        assert state.cost_usd < 0.02  # the whole session costs $0.024: it stopped after its first $0.011 step
        notices = [str(e["event"]) for e in log_events(sandbox) if e.get("notice") == "budget"]
        assert len([n for n in notices if "hard cap" in n]) == 1
        assert len([n for n in notices if "daily soft cap" in n]) == 1

    def test_cap_checked_before_each_gate_fix_round(self, sandbox: Path) -> None:
        """A gate-fix round does not start a session over the hard cap; it gets only what is left."""
        config = sandbox / "coffee_maker.toml"
        config.write_text(config.read_text().replace('test_command = "python -m unittest discover -s tests -q"',
                                                     'test_command = \'python -c "raise SystemExit(1)"\''))
        self._caps(sandbox, priority_hard_cap_usd=0.03, gate_fix_rounds=3)
        result = cm(sandbox, "run", "--once", "--priority", "PRIORITY 1")
        assert result.returncode == ExitCode.BUDGET, result.stderr
        state = store(sandbox).get("PRIORITY 1")
        assert state is not None and state.phase is Phase.BLOCKED
        sessions = [e for e in log_events(sandbox) if e.get("event") == "agent session ended"]
        assert len(sessions) == 2 and sessions[-1]["outcome"] == "limit"  # not 4 sessions at $0.024 each
        assert state.cost_usd < 0.04

    def test_soft_cap_warns_once_across_attempts(self, sandbox: Path) -> None:
        set_script(sandbox, "priority-1.json", FAILING)
        self._caps(sandbox, priority_soft_cap_usd=0.001, max_attempts=3)
        result = cm(sandbox, "run", "--once", "--priority", "PRIORITY 1")
        assert result.returncode == ExitCode.BLOCKED
        notices = [str(e["event"]) for e in log_events(sandbox) if e.get("notice") == "budget"]
        assert len(notices) == 1 and "soft cap" in notices[0]


def test_idle_reason_names_the_dependency(sandbox: Path) -> None:
    """Nothing ready because PRIORITY 2 depends on a blocked PRIORITY 1: the idle line says so."""
    import threading

    from coffee_maker.config import load_config
    from coffee_maker.daemon import wiring

    roadmap = sandbox / "docs" / "ROADMAP.md"
    roadmap.write_text(roadmap.read_text().replace("Summarise a list", "**Dependencies**: PRIORITY 1\n\nSummarise a list"))
    daemon = wiring.build_daemon(load_config(sandbox), threading.Event())
    daemon.store.transition("PRIORITY 1", Phase.BLOCKED, reason="needs a person")
    assert daemon.step() is False
    assert daemon.idle_reason() == "a roadmap change (PRIORITY 2 waits for PRIORITY 1 (blocked))"
