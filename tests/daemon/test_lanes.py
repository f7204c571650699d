"""Lanes end to end: several priorities at once on real git, the scripted agent and the local forge.

Orders are read from the state store's transitions (each stamped when it was written), never
from how long something took.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from coffee_maker.commands.daemon_cmd import status_data
from coffee_maker.config import load_config
from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.demo_lanes import (
    answer_first_question,
    build_lanes_sandbox,
    clashing_script,
    priority_script,
)
from coffee_maker.testing.daemon_run import run_daemon_until
from coffee_maker.testing.waiting import wait_until
from tests.conftest import git
from tests.daemon.conftest import daemon_processes, start_daemon_process, stop_daemons


def _store(project: Path) -> StateStore:
    return StateStore(project / ".coffee_maker" / "state.db")


def _phases(project: Path) -> dict[str, Phase]:
    db = project / ".coffee_maker" / "state.db"
    return {s.priority: s.phase for s in StateStore(db).all()} if db.exists() else {}


def _first(store: StateStore, pid: str, phase: Phase) -> float:
    """When ``pid`` first entered ``phase``."""
    return min(at for _, to, at, _ in store.history(pid) if to == phase.value)


def _all_in(project: Path, phase: Phase, count: int) -> bool:
    phases = _phases(project)
    return len([p for p in phases.values() if p is phase]) == count


def _max_overlap(spans: list[tuple[float, float]]) -> int:
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    best = now = 0
    for _, step in events:
        now += step
        best = max(best, now)
    return best


class TestSixPriorities:
    def test_other_lanes_finish_while_one_waits_for_a_person(self, tmp_path: Path) -> None:
        """lanes = 3, six priorities, PRIORITY 1 asks a person: the other five reach a PR before it is answered."""
        project = build_lanes_sandbox(tmp_path / "s", count=6, lanes=3, work_s=0.5, asking={1})
        others = [f"PRIORITY {n}" for n in range(2, 7)]
        seen_waiting: list[bool] = []
        lanes_shown: list[list[dict[str, object]]] = []
        next_shown: list[object] = []

        def person() -> None:  # answers only once the other five are in review
            _wait(lambda: all(_phases(project).get(pid) is Phase.PR_OPEN for pid in others), timeout_s=120,
                  what="the other five PRs")
            seen_waiting.append(_phases(project).get("PRIORITY 1") is Phase.AGENT_RUNNING)
            shown = status_data(load_config(project))
            lanes_shown.append(shown["lanes"])
            next_shown.append(shown["next_up"])
            _wait(lambda: answer_first_question(project), timeout_s=30, what="the question to answer")

        threading.Thread(target=person, daemon=True).start()
        assert run_daemon_until(project, lambda: _all_in(project, Phase.PR_OPEN, 6), timeout_s=150)
        assert seen_waiting == [True]  # the question's lane still waited when the others were done
        waiting = [lane for lane in lanes_shown[0] if lane["priority"] == "PRIORITY 1"]
        assert len(waiting) == 1 and str(waiting[0]["waiting_for"]).startswith("you: question ")
        assert waiting[0]["phase"] == "agent running" and waiting[0]["elapsed_s"] is not None
        assert next_shown == [None]  # PRIORITY 1 is being worked on in its lane: it is not "next"
        store = _store(project)
        p1_done = _first(store, "PRIORITY 1", Phase.PR_OPEN)
        assert all(_first(store, pid, Phase.PR_OPEN) < p1_done for pid in others)
        spans = [(_first(store, f"PRIORITY {n}", Phase.BRANCHED), _first(store, f"PRIORITY {n}", Phase.PR_OPEN))
                 for n in range(1, 7)]
        assert _max_overlap(spans) == 3  # three at once, never more
        records = [json.loads(p.read_text()) for p in (project / ".coffee_maker" / "reviews").glob("*.json")]
        assert sorted(r["number"] for r in records) == [1, 2, 3, 4, 5, 6]  # one PR each
        assert len({r["branch"] for r in records}) == 6
        assert all(s.attempt == 1 for s in store.all())

    def test_a_dependency_chain_is_respected(self, tmp_path: Path) -> None:
        """2 needs 1, 3 needs 2; 4 and 5 run beside 1. A person merges each PR on the remote as it opens."""
        project = build_lanes_sandbox(tmp_path / "s", count=5, lanes=3, depends={2: 1, 3: 2})
        merger = tmp_path / "person"
        git(tmp_path, "clone", "-q", str(tmp_path / "s" / "origin.git"), str(merger))
        git(merger, "config", "user.name", "person")
        git(merger, "config", "user.email", "person@example.invalid")
        stop = threading.Event()
        merged: list[str] = []

        def merge_open_prs() -> None:
            while not stop.is_set():
                for state in StateStore(project / ".coffee_maker" / "state.db").all() \
                        if (project / ".coffee_maker" / "state.db").exists() else []:
                    if state.phase is Phase.PR_OPEN and state.priority not in merged and state.branch:
                        git(merger, "pull", "-q", "--no-rebase", "origin", "main")
                        git(merger, "fetch", "-q", "origin", state.branch)
                        git(merger, "merge", "-q", "--no-edit", "FETCH_HEAD")
                        git(merger, "push", "-q", "origin", "HEAD:main")
                        merged.append(state.priority)
                stop.wait(0.2)

        helper = threading.Thread(target=merge_open_prs, daemon=True)
        helper.start()
        try:
            assert run_daemon_until(project, lambda: _all_in(project, Phase.DONE, 5), timeout_s=180)
        finally:
            stop.set()
            helper.join(10)
        store = _store(project)
        assert _first(store, "PRIORITY 2", Phase.BRANCHED) > _first(store, "PRIORITY 1", Phase.MERGED)
        assert _first(store, "PRIORITY 3", Phase.BRANCHED) > _first(store, "PRIORITY 2", Phase.MERGED)
        p1_merged = _first(store, "PRIORITY 1", Phase.MERGED)
        assert _first(store, "PRIORITY 4", Phase.BRANCHED) < p1_merged  # beside 1, not after it
        assert _first(store, "PRIORITY 5", Phase.BRANCHED) < p1_merged

    def test_a_usage_limit_in_one_lane_pauses_new_starts(self, tmp_path: Path) -> None:
        """lanes = 2: PRIORITY 1 hits a usage limit; PRIORITY 2 (already running) finishes, PRIORITY 3 waits
        for the reset, then PRIORITY 1 resumes the same attempt."""
        project = build_lanes_sandbox(tmp_path / "s", count=3, lanes=2, work_s=0.3)
        limited = priority_script(1, work_s=0, asks=False)
        limited["resume_steps"] = limited["steps"]
        limited["steps"] = [{"usage_limit": "5-hour limit reached", "reset_at": "+4"}]
        (tmp_path / "s" / "agent-scripts" / "priority-1.json").write_text(json.dumps(limited))
        assert run_daemon_until(project, lambda: _all_in(project, Phase.PR_OPEN, 3), timeout_s=120)
        store = _store(project)
        until = float(store.info()["paused_until"])
        assert _first(store, "PRIORITY 2", Phase.BRANCHED) < until
        assert _first(store, "PRIORITY 2", Phase.PR_OPEN) < _first(store, "PRIORITY 3", Phase.BRANCHED)
        assert _first(store, "PRIORITY 3", Phase.BRANCHED) >= until  # no new lane on the paused backend
        p1 = store.get("PRIORITY 1")
        assert p1 is not None and p1.attempt == 1 and "retry" not in [h[1] for h in store.history("PRIORITY 1")]


def _wait(condition: Callable[[], object], *, timeout_s: float, what: str) -> None:
    """``wait_until``, where a look that fails (a state DB being written) counts as not yet."""

    def safely() -> object:
        try:
            return condition()
        except Exception:  # noqa: BLE001 — look again
            return False

    wait_until(safely, timeout_s=timeout_s, what=what)


class TestProcesses:
    def test_sigterm_stops_every_lane_and_a_restart_resumes_them(self, tmp_path: Path) -> None:
        """Three agents running; SIGTERM ends the daemon cleanly, each attempt left to resume (no retry)."""
        project = build_lanes_sandbox(tmp_path / "s", count=3, lanes=3, work_s=600)
        daemon = start_daemon_process(project)
        try:
            _wait(lambda: _all_in(project, Phase.AGENT_RUNNING, 3), timeout_s=60, what="three running agents")
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=60) == 0
        finally:
            if daemon.poll() is None:
                daemon.kill()
        assert _phases(project) == {f"PRIORITY {n}": Phase.AGENT_RUNNING for n in range(1, 4)}
        for n in range(1, 4):  # the person's agents are quick now
            script = priority_script(n, work_s=0, asks=False)
            (tmp_path / "s" / "agent-scripts" / f"priority-{n}.json").write_text(json.dumps(script))
        assert run_daemon_until(project, lambda: _all_in(project, Phase.PR_OPEN, 3), timeout_s=120)
        assert all(s.attempt == 1 for s in _store(project).all())

    def test_two_daemons_share_one_roadmap_through_claims(self, tmp_path: Path) -> None:
        """Two clones of one origin, a daemon process each (lanes = 2): six priorities, each done once."""
        first = build_lanes_sandbox(tmp_path / "s", count=6, lanes=2, work_s=0.5)
        second = tmp_path / "second"
        git(tmp_path, "clone", "-q", str(tmp_path / "s" / "origin.git"), str(second))
        git(second, "config", "user.name", "second machine")
        git(second, "config", "user.email", "second@example.invalid")
        (second / "coffee_maker.toml").write_text((first / "coffee_maker.toml").read_text())
        clones = (first, second)

        def prs() -> list[dict[str, object]]:
            return [json.loads(p.read_text()) for c in clones for p in (c / ".coffee_maker" / "reviews").glob("*.json")]

        with daemon_processes(clones) as daemons:
            _wait(lambda: len(prs()) >= 6 and all(
                s.phase is Phase.PR_OPEN for c in clones for s in _store(c).all()), timeout_s=180, what="six PRs")
            stop_daemons(daemons)
        records = prs()
        assert len(records) == 6 and len({r["branch"] for r in records}) == 6  # one PR each
        done = [s.priority for c in clones for s in _store(c).all()]
        assert sorted(done) == sorted(f"PRIORITY {n}" for n in range(1, 7))  # each by exactly one daemon
        assert all(_store(c).all() for c in clones)  # both daemons worked
        branches = git(tmp_path / "s" / "origin.git", "branch", "--format=%(refname:short)").split()
        assert len([b for b in branches if b.startswith("coffee-maker/")]) == 6
        refs = git(tmp_path / "s" / "origin.git", "for-each-ref", "--format=%(refname)", "refs/coffee-maker/").split()
        # In review, each priority is still claimed (by the daemon that did it), its checkpoint beside it.
        assert sorted(refs) == sorted([f"refs/coffee-maker/claims/priority-{n}" for n in range(1, 7)]
                                      + [f"refs/coffee-maker/wip/priority-{n}" for n in range(1, 7)])
        assert load_config(first).config.daemon.lanes == 2


def test_a_branch_that_conflicts_with_an_open_pr_waits_for_it_to_merge(tmp_path: Path) -> None:
    """PRIORITY 1 and 2 write the same file differently. 1's PR opens first; 2 is checked with
    `git merge-tree` before its PR, waits until a person merged 1, and says so in its PR body."""
    project = build_lanes_sandbox(tmp_path / "s", count=2, lanes=2)
    clash = clashing_script(2, work_s=1.0)
    (tmp_path / "s" / "agent-scripts" / "priority-2.json").write_text(json.dumps(clash))
    merger = tmp_path / "person"
    git(tmp_path, "clone", "-q", str(tmp_path / "s" / "origin.git"), str(merger))
    stop = threading.Event()

    def merge_p1_once_p2_waits() -> None:
        while not stop.is_set():
            lanes = status_data(load_config(project)).get("lanes") or []
            if any("PRIORITY 1 to merge" in str(lane.get("waiting_for")) for lane in lanes):
                branch = _store(project).get("PRIORITY 1").branch  # type: ignore[union-attr]
                git(merger, "fetch", "-q", "origin", str(branch))
                git(merger, "-c", "user.name=p", "-c", "user.email=p@p", "merge", "-q", "--no-edit", "FETCH_HEAD")
                git(merger, "push", "-q", "origin", "HEAD:main")
                return
            stop.wait(0.1)

    helper = threading.Thread(target=merge_p1_once_p2_waits, daemon=True)
    helper.start()
    try:
        assert run_daemon_until(project, lambda: _phases(project).get("PRIORITY 2") is Phase.PR_OPEN, timeout_s=120)
    finally:
        stop.set()
        helper.join(10)
    store = _store(project)
    assert _first(store, "PRIORITY 2", Phase.PR_OPEN) > _first(store, "PRIORITY 1", Phase.MERGED)
    records = {json.loads(p.read_text())["branch"]: json.loads(p.read_text())
               for p in (project / ".coffee_maker" / "reviews").glob("*.json")}
    p1 = records[str(store.get("PRIORITY 1").branch)]["body"]  # type: ignore[union-attr]
    p2 = records[str(store.get("PRIORITY 2").branch)]["body"]  # type: ignore[union-attr]
    assert "Merge check (`git merge-tree`, no checkout) against `main`: into `main` merges cleanly." in p1
    assert "waited for PRIORITY 1 to merge first" in p2 and "**conflicts**" in p2  # 1 merged: 2 needs a rebase


def test_an_auth_failure_in_one_lane_ends_the_run_and_stops_the_others_cleanly(tmp_path: Path) -> None:
    """PRIORITY 2's agent cannot log in while PRIORITY 1's works: the daemon exits 6, PRIORITY 1's attempt
    is left to resume (not counted as failed), PRIORITY 2 is released to retry without losing an attempt."""
    project = build_lanes_sandbox(tmp_path / "s", count=2, lanes=2, work_s=600)
    refused = {"steps": [{"sleep": 1.5}, {"fail": "Invalid API key", "kind": "auth_failed"}]}
    (tmp_path / "s" / "agent-scripts" / "priority-2.json").write_text(json.dumps(refused))
    daemon = start_daemon_process(project)
    try:
        assert daemon.wait(timeout=120) == 6
    finally:
        if daemon.poll() is None:
            daemon.kill()
    store = _store(project)
    p1, p2 = store.get("PRIORITY 1"), store.get("PRIORITY 2")
    assert p1 is not None and p1.phase is Phase.AGENT_RUNNING and p1.attempt == 1
    assert p2 is not None and p2.phase is Phase.RETRY and p2.attempt == 0
