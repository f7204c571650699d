"""Stacked chains more than one level deep, end to end: the real daemon (lanes = 2), real git, the scripted agent
and the local forge, whose squash merge and close a person uses. PRIORITY 3 depends on 2, which depends on 1.

Orders are read from the state store and the remote, never from how long something took.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from coffee_maker.commands.roadmap_cmd import show_next
from coffee_maker.config import load_config
from coffee_maker.daemon import wiring
from coffee_maker.daemon.loop import Daemon
from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.demo_lanes import build_lanes_sandbox
from coffee_maker.testing.config_edit import set_config
from coffee_maker.testing.waiting import wait_until
from coffee_maker.vcs.forge.local import LocalForge
from tests.daemon.test_stacking import origin, phase, record, running, squash_merge, wait_for_prs

P1, P2, P3 = "PRIORITY 1", "PRIORITY 2", "PRIORITY 3"
B1, B2, B3 = "coffee-maker/priority-1-part-1", "coffee-maker/priority-2-part-2", "coffee-maker/priority-3-part-3"


def chain(tmp_path: Path) -> Path:
    project = build_lanes_sandbox(tmp_path / "s", count=3, lanes=2, depends={2: 1, 3: 2})
    set_config(project / "coffee_maker.toml", "daemon", stack_dependents=True, poll_interval_s=0.3)
    return project


def own_files(n: int) -> set[str]:
    return {"docs/ROADMAP.md", f"docs/devlogs/priority-{n}", f"tests/test_part{n}.py", f"weather/part{n}.py"}


def changed(project: Path, base: str, branch: str) -> set[str]:
    """What the PR's diff shows (``base...branch``), each dev log's dated name made plain."""
    names = origin(project, "diff", "--name-only", f"{base}...{branch}").split()
    return {f"docs/devlogs/{m[0]}" if n.startswith("docs/devlogs/") and (m := re.search(r"priority-\d+", n)) else n
            for n in names}


def only_commits_of(project: Path, base: str, branch: str, pid: str) -> bool:
    """Every commit ``branch`` adds to ``base`` is ``pid``'s own (its ``Priority:`` trailer)."""
    commits = origin(project, "rev-list", f"{base}..{branch}").split()
    return bool(commits) and all(f"Priority: {pid}" in origin(project, "log", "-1", "--format=%B", c) for c in commits)


def extra(daemon: Daemon, pid: str) -> dict[str, object]:
    state = daemon.store.get(pid)
    return dict(state.extra) if state is not None else {}


def pr_number(daemon: Daemon, pid: str) -> int:
    state = daemon.store.get(pid)
    assert state is not None and state.pr_number is not None
    return state.pr_number


class TestThreeLevels:
    def test_a_chain_lands_one_merge_at_a_time(self, tmp_path: Path) -> None:
        """1, 2 and 3 all open at once, each stacked on the one before; 1 squash-merged → 2 lands on main and 3 is
        moved onto 2's new tip with only its own commits (its PR still on 2's branch); 2 merged → 3 lands on main;
        3 merged → every priority's files on main. Each PR's diff is only its own priority's work throughout."""
        project = chain(tmp_path)
        with running(project) as (daemon, person):
            wait_for_prs(daemon, P1, P2, P3)
            n1, n2, n3 = (pr_number(daemon, p) for p in (P1, P2, P3))
            assert record(project, B3)["base"] == B2 and f"stacked on #{n2}" in record(project, B3)["body"]
            assert f"which stands on #{n1} ({P1})" in record(project, B3)["body"]  # the whole chain, in merge order
            assert f"Merge them in order — #{n1}, then #{n2} — and this one last" in record(project, B3)["body"]
            assert record(project, B2)["base"] == B1
            assert changed(project, B1, B2) == own_files(2) and changed(project, B2, B3) == own_files(3)
            old2 = origin(project, "rev-parse", B2)
            assert extra(daemon, P3)["stacked_tip"] == old2

            squash_merge(project, n1)
            wait_until(lambda: extra(daemon, P2).get("stack") == "landed" and phase(daemon, P1) is Phase.DONE
                       and extra(daemon, P3).get("stacked_tip") == origin(project, "rev-parse", B2) != old2,
                       timeout_s=60, what="PRIORITY 2 landed and PRIORITY 3 moved onto its new tip")
            new2 = origin(project, "rev-parse", B2)
            assert origin(project, "merge-base", "--is-ancestor", new2, B3) == ""
            assert old2 not in origin(project, "rev-list", B3).split()  # the old generation of 2 is gone from 3
            assert only_commits_of(project, B2, B3, P3) and changed(project, B2, B3) == own_files(3)
            assert only_commits_of(project, "main", B2, P2) and changed(project, "main", B2) == own_files(2)
            assert record(project, B3)["base"] == B2 and extra(daemon, P3)["stack"] == "open"
            assert phase(daemon, P3) is Phase.PR_OPEN
            wait_until(lambda: "stands on" not in record(project, B3)["body"], timeout_s=30,
                       what="PRIORITY 3's PR body no longer naming the merged PR under its parent")
            assert f"Merge #{n2} first" in record(project, B3)["body"]
            wait_until(lambda: any("moved onto its new tip" in m for k, m in person.informed
                                   if k == "pr_updated" and m.startswith(P3)), timeout_s=30, what="the person told")

            squash_merge(project, n2)
            wait_until(lambda: extra(daemon, P3).get("stack") == "landed" and phase(daemon, P2) is Phase.DONE,
                       timeout_s=60, what="PRIORITY 2 done and PRIORITY 3 landed")
            assert record(project, B3)["base"] == "main"
            assert only_commits_of(project, "main", B3, P3) and changed(project, "main", B3) == own_files(3)
            wait_until(lambda: "stacked on" not in record(project, B3)["body"], timeout_s=30,
                       what="the stacking note gone from PRIORITY 3's PR body")

            squash_merge(project, n3)
            wait_until(lambda: phase(daemon, P3) is Phase.DONE, timeout_s=60, what="PRIORITY 3 done")
        on_main = set(origin(project, "ls-tree", "-r", "--name-only", "main").split())
        assert {f"weather/part{n}.py" for n in (1, 2, 3)} | {f"tests/test_part{n}.py" for n in (1, 2, 3)} <= on_main
        assert origin(project, "show", "main:docs/ROADMAP.md").count("✅") >= 3


class TestClosedUnmerged:
    @pytest.mark.parametrize("closed", [B1, B2])
    def test_the_sub_chain_below_is_blocked_and_kept(self, tmp_path: Path, closed: str) -> None:
        """1, 2 and 3 open; the PR of 1 (the root) or of 2 (the middle) closed without merge → 2 and 3 blocked with
        the reason (3 names the PR closed at the root of it); every branch and the PRs below stay as they were."""
        project = chain(tmp_path)
        with running(project) as (daemon, _):
            wait_for_prs(daemon, P1, P2, P3)
            tips = {b: origin(project, "rev-parse", b) for b in (B1, B2, B3)}
            LocalForge(load_config(project)).close(closed)
            first = Phase.BLOCKED if closed == B1 else Phase.PR_OPEN  # its own PR closed, or still open
            wait_until(lambda: phase(daemon, P2) is Phase.BLOCKED and phase(daemon, P3) is Phase.BLOCKED
                       and phase(daemon, P1) is first, timeout_s=60, what="PRIORITY 2 and PRIORITY 3 blocked")
        store = StateStore(project / ".coffee_maker" / "state.db")
        s2, s3 = store.get(P2), store.get(P3)
        assert s2 is not None and s3 is not None
        if closed == B1:
            assert s2.extra["stack"] == "orphaned" and "PR #1 was closed without merge" in s2.reason
            assert s3.extra["stack"] == "waits" and s3.reason.startswith(f"waits for {P2}, which is blocked")
            assert f"{P1}'s PR #1 was closed without merge" in s3.reason
        else:
            assert s3.extra["stack"] == "orphaned" and f"stacked on {P2}, whose PR #2 was closed" in s3.reason
        assert {b: origin(project, "rev-parse", b) for b in (B1, B2, B3)} == tips
        assert record(project, B3)["state"] == "open" and record(project, B3)["base"] == B2


class TestPlanningAgrees:
    @pytest.mark.parametrize("stack", [True, False])
    def test_roadmap_next_and_the_daemon_name_the_same_priority(self, tmp_path: Path, stack: bool,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
        """1's PR open, 2's open and stacked on it: with stacking on, `roadmap next` and the daemon's planner both
        name PRIORITY 3 (it may stack on 2); off, both name nothing and say 3 waits for 2 in review."""
        project = build_lanes_sandbox(tmp_path / "s", count=3, lanes=2, depends={2: 1, 3: 2})
        set_config(project / "coffee_maker.toml", "daemon", stack_dependents=stack)
        loaded = load_config(project)
        store = StateStore(loaded.layout.state_db)
        try:
            store.transition(P1, Phase.PR_OPEN, branch=B1, pr_number=1)
            store.transition(P2, Phase.PR_OPEN, branch=B2, pr_number=2, extra={
                "stack": "open", "stacked_on": P1, "stacked_pr": 1, "stacked_branch": B1, "stacked_tip": "0" * 40})
            picked = wiring.pick_next(store, loaded)(wiring.roadmap_reader(loaded)())
        finally:
            store.close()
        capsys.readouterr()  # the planner's log line when nothing is ready
        assert show_next(loaded, as_json=True) == 0
        shown = json.loads(capsys.readouterr().out)
        assert (shown["next"] or {}).get("id") == (picked.id if picked else None) == (P3 if stack else None)
        if not stack:
            assert {"id": P3, "reason": f"waits for {P2} (in review)"} in [
                {"id": s["id"], "reason": s["reason"]} for s in shown["skipped"]]
