"""Review feedback resumes the agent on its branch; usage limits pause and resume the same priority;
a closed PR blocks; a roadmap edit reaches an idle daemon."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from coffee_maker.config import load_config
from coffee_maker.daemon import wiring
from coffee_maker.daemon.planning import resumable
from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.testing.config_edit import set_config
from coffee_maker.testing.daemon_run import run_daemon_until, run_until_settled
from coffee_maker.testing.waiting import wait_until
from coffee_maker.vcs.forge.local import LocalForge
from tests.conftest import git
from tests.daemon.conftest import set_script

P1_BRANCH = "coffee-maker/priority-1-temperature-conversion-helpers"


def _store(project: Path) -> StateStore:
    return StateStore(project / ".coffee_maker" / "state.db")


def _run_until(project: Path, condition, timeout_s: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    """Run the daemon in this thread until ``condition()`` holds, then stop it."""
    run_daemon_until(project, condition, timeout_s=timeout_s)


def test_changes_requested_resumes_the_agent(sandbox: Path) -> None:
    """A 'changes requested' review sends the comments to the agent, and the fix is pushed to the same PR."""
    set_script(sandbox, "priority-1.json", {"session_id": "s-review", "steps": [
        {"write": "weather/convert.py", "content": "def c2f(c):\n    return c * 9 / 5 + 32\n"},
        {"result": "Done."}],
        "resume_steps": [{"write": "weather/convert.py",
                          "content": '"""Conversions."""\n\n\ndef c2f(c):\n    """Celsius to Fahrenheit."""\n    return c * 9 / 5 + 32\n'},
                         {"result": "Added docstrings."}]})
    set_config(sandbox / "coffee_maker.toml", "daemon", poll_interval_s=0.2)
    run_until_settled(sandbox, settled=2, timeout_s=60, answer_delay_s=0.1)
    LocalForge(load_config(sandbox)).review(P1_BRANCH, author="ann", body="Please add docstrings.",
                                            changes_requested=True)
    origin = sandbox.parent / "origin.git"

    def fixed() -> bool:
        return "review feedback" in git(origin, "log", "--format=%s", P1_BRANCH)

    _run_until(sandbox, fixed)
    assert fixed()
    assert '"""Celsius to Fahrenheit."""' in git(origin, "show", f"{P1_BRANCH}:weather/convert.py")
    state = _store(sandbox).get("PRIORITY 1")
    assert state is not None and state.phase is Phase.PR_OPEN and state.extra["feedback_seen"] == 1
    assert len(list((sandbox / ".coffee_maker" / "reviews").glob("*.json"))) == 2  # still one PR each


def test_closed_pr_blocks_the_priority(sandbox: Path) -> None:
    """A PR closed without merge marks its priority blocked."""
    run_until_settled(sandbox, settled=2, timeout_s=60, answer_delay_s=0.1)
    LocalForge(load_config(sandbox)).close(P1_BRANCH)
    _run_until(sandbox, lambda: _store(sandbox).get("PRIORITY 1").phase is Phase.BLOCKED)  # type: ignore[union-attr]
    state = _store(sandbox).get("PRIORITY 1")
    assert state is not None and state.phase is Phase.BLOCKED and "closed without merge" in state.reason


def test_usage_limit_pauses_and_resumes_same_priority(sandbox: Path) -> None:
    """A usage limit with a reset time sleeps until then and resumes the same session, not a new attempt."""
    set_script(sandbox, "priority-1.json", {"session_id": "s-limit", "steps": [
        {"write": "weather/convert.py", "content": "def c2f(c):\n    return c * 9 / 5 + 32\n"},
        {"usage_limit": "5-hour limit reached", "reset_at": "+1"}],
        "resume_steps": [{"result": "Finished after the limit reset."}]})
    run_until_settled(sandbox, settled=2, timeout_s=60, answer_delay_s=0.1)
    store = _store(sandbox)
    state = store.get("PRIORITY 1")
    assert state is not None and state.phase is Phase.PR_OPEN and state.attempt == 1
    assert "retry" not in [h[1] for h in store.history("PRIORITY 1")]


def test_roadmap_edit_wakes_an_idle_daemon(sandbox: Path) -> None:
    """A priority added to the roadmap while the daemon idles is picked up (the watcher wakes it)."""
    set_config(sandbox / "coffee_maker.toml", "daemon", poll_interval_s=3600)
    run_until_settled(sandbox, settled=2, timeout_s=60, answer_delay_s=0.1)
    set_script(sandbox, "default.json", {"steps": [{"write": "weather/extra.py", "content": "X = 1\n"},
                                                   {"result": "Done."}]})

    roadmap = sandbox / "docs" / "ROADMAP.md"
    edited = roadmap.read_text() + "\n## PRIORITY 3: Extras\n\n**Status**: 📝 Planned\n"
    elsewhere = sandbox.parent / "elsewhere"  # the person planned it in another clone and pushed it
    git(sandbox.parent, "clone", "-q", str(sandbox.parent / "origin.git"), str(elsewhere))
    (elsewhere / "docs" / "ROADMAP.md").write_text(edited)
    git(elsewhere, "commit", "-qam", "docs: plan PRIORITY 3")
    git(elsewhere, "push", "-q", "origin", "main")

    _store(sandbox).set_info(waiting_for=None)  # the first run's last words; the new run says its own

    def edit_later() -> None:
        # Once this run has said what it idles for: the edit must wake an idle daemon, not a busy one.
        wait_until(lambda: _store(sandbox).info().get("waiting_for"), timeout_s=30, what="the daemon to idle")
        tmp = roadmap.with_name(".ROADMAP.md.tmp")  # an editor's atomic save, here in the daemon's checkout
        tmp.write_text(edited)
        tmp.replace(roadmap)

    threading.Thread(target=edit_later, daemon=True).start()
    _run_until(sandbox, lambda: (s := _store(sandbox).get("PRIORITY 3")) is not None and s.phase is Phase.PR_OPEN,
               timeout_s=30)
    state = _store(sandbox).get("PRIORITY 3")
    assert state is not None and state.phase is Phase.PR_OPEN


def test_roadmap_edited_while_a_priority_runs(sandbox: Path) -> None:
    """The person edits (and pushes) the roadmap during an agent run: their edit is kept byte for byte
    and its new priority is picked up after the running one."""
    set_script(sandbox, "priority-1.json", {"steps": [
        {"write": "weather/convert.py", "content": "def c2f(c):\n    return c * 9 / 5 + 32\n"},
        {"sleep": 1.5}, {"result": "Done."}]})
    set_script(sandbox, "default.json", {"steps": [{"write": "weather/extra.py", "content": "X = 1\n"},
                                                   {"result": "Done."}]})
    roadmap = sandbox / "docs" / "ROADMAP.md"
    edited = roadmap.read_text().replace("Forecast summary", "Forecast summary (daily)") + \
        "\n## PRIORITY 3: Extras\n\n**Status**: 📝 Planned\n"

    def edit_during_run() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            db = sandbox / ".coffee_maker" / "state.db"
            state = StateStore(db).get("PRIORITY 1") if db.exists() else None
            if state is not None and state.phase is Phase.AGENT_RUNNING:
                roadmap.write_text(edited)
                # and pushes it, as `init` says: a priority only in the checkout is not started
                git(sandbox, "commit", "-qam", "docs: plan PRIORITY 3")
                git(sandbox, "push", "-q", "origin", "main")
                return
            time.sleep(0.02)

    threading.Thread(target=edit_during_run, daemon=True).start()
    run_until_settled(sandbox, settled=3, timeout_s=60, answer_delay_s=0.1)
    assert roadmap.read_text() == edited
    store = _store(sandbox)
    assert {s.priority: s.phase for s in store.all()} == {
        "PRIORITY 1": Phase.PR_OPEN, "PRIORITY 2": Phase.PR_OPEN, "PRIORITY 3": Phase.PR_OPEN}


def test_daily_hard_cap_pauses_work(sandbox: Path) -> None:
    """The session that crosses the daily hard cap is stopped there; no new priority starts and the person is told."""
    (sandbox / "coffee_maker.toml").write_text((sandbox / "coffee_maker.toml").read_text() +
                                               "daily_hard_cap_usd = 0.02\n")
    _run_until(sandbox, lambda: _store(sandbox).info().get("last_outcome") == "daily budget reached", timeout_s=20)
    store = _store(sandbox)
    p1 = store.get("PRIORITY 1")
    assert p1 is not None and p1.phase is Phase.AGENT_RUNNING  # stopped mid-way; resumes when the day's budget allows
    assert p1.pr_url is None and p1.commit_sha is None  # the session crossing the cap was stopped: nothing committed
    assert store.get("PRIORITY 2") is None  # never started: the day's budget was spent
    assert store.info()["last_outcome"] == "daily budget reached"
    assert str(store.info()["waiting_for"]).startswith("the daily budget to reset")


def test_fallback_agent_while_the_main_one_is_limited(sandbox: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Codex hits its usage limit; the daemon switches to the configured fallback (scripted) at once,
    starts a fresh session there (a Codex thread id means nothing to it) and finishes the priority."""
    fake_clis = Path(__file__).resolve().parents[1] / "agent" / "fake_clis"
    monkeypatch.setenv("PATH", f"{fake_clis}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_CLI_SCENARIO", "usage_limit")
    calls = sandbox.parent / "codex-calls.jsonl"
    monkeypatch.setenv("FAKE_CLI_LOG", str(calls))
    config = sandbox / "coffee_maker.toml"
    set_config(config, "agent", backend="codex", pass_env=["FAKE_CLI_*"])
    set_config(config, "daemon", fallback_backend="scripted")
    run_until_settled(sandbox, settled=2, timeout_s=60, answer_delay_s=0.1)
    store = _store(sandbox)
    state = store.get("PRIORITY 1")
    assert state is not None and state.phase is Phase.PR_OPEN and state.attempt == 1
    assert state.extra["backend"] == "scripted" and state.session_id == "demo-session-priority-1"
    assert "retry" not in [h[1] for h in store.history("PRIORITY 1")]
    assert calls.read_text().count('"codex"') == 1  # the main agent ran once, then the fallback took over


def test_idle_wait_ends_at_the_next_retry_only_if_it_is_still_to_come(sandbox: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A retry wakes the idle daemon when it falls due; one already due but not taken never makes it spin."""
    daemon = wiring.build_daemon(load_config(sandbox), threading.Event())
    daemon.reviews.last_poll = time.monotonic() + 3600  # the next fetch of the remote is an hour away
    assert daemon.until_next_poll() > 3000
    daemon.store.transition("PRIORITY 9", Phase.RETRY, attempt=1)  # the sandbox's retry_delay_s is 1
    assert 0 < daemon.until_next_poll() <= 1
    daemon.store.transition("PRIORITY 8", Phase.RETRY, attempt=1)
    monkeypatch.setattr(daemon.loaded.config.daemon, "retry_delay_s", 0.0)  # both due now, neither in the roadmap
    assert resumable(daemon.read_roadmap(), daemon.store, daemon.loaded.config.daemon.retry_delay_s) is None
    assert daemon.until_next_poll() > 3000
