"""Stacked dependents end to end: the real daemon (lanes = 2), real git, the scripted agent and the local
forge, whose squash merge and close a person uses. PRIORITY 2 depends on PRIORITY 1.

Orders are read from the state store's transitions, never from how long something took.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from coffee_maker.config import load_config
from coffee_maker.daemon import wiring
from coffee_maker.daemon.loop import Daemon
from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.demo_lanes import build_lanes_sandbox
from coffee_maker.testing.channels import RecordingChannel
from coffee_maker.testing.config_edit import set_config
from coffee_maker.testing.waiting import wait_until
from coffee_maker.vcs.forge.local import LocalForge
from tests.conftest import git

P1, P2 = "PRIORITY 1", "PRIORITY 2"
B1, B2 = "coffee-maker/priority-1-part-1", "coffee-maker/priority-2-part-2"
P2_FILES = {"docs/ROADMAP.md", "docs/devlogs/priority-2", "tests/test_part2.py", "weather/part2.py"}


def sandbox(tmp_path: Path, *, stack: bool) -> Path:
    project = build_lanes_sandbox(tmp_path / "s", count=2, lanes=2, depends={2: 1})
    set_config(project / "coffee_maker.toml", "daemon", stack_dependents=stack, poll_interval_s=0.3)
    return project


@contextmanager
def running(project: Path) -> Iterator[tuple[Daemon, RecordingChannel]]:
    """The daemon built as `coffee-maker run` builds it, in a thread; a recording channel beside the CLI one."""
    daemon = wiring.build_daemon(load_config(project), threading.Event())
    person = RecordingChannel()
    daemon.services.notifier.channels.append(person)  # type: ignore[attr-defined]
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(daemon.run()), daemon=True)
    thread.start()
    try:
        yield daemon, person
    finally:
        daemon.request_stop()
        thread.join(60)
        daemon.services.close()
    assert result == [0]


def phase(daemon: Daemon, pid: str) -> Phase | None:
    state = daemon.store.get(pid)
    return state.phase if state is not None else None


def first(store: StateStore, pid: str, to: Phase) -> float:
    return min(at for _, phase_to, at, _ in store.history(pid) if phase_to == to.value)


def record(project: Path, branch: str) -> dict[str, Any]:
    path = project / ".coffee_maker" / "reviews" / (branch.replace("/", "-") + ".json")
    return dict(json.loads(path.read_text()))


def origin(project: Path, *args: str) -> str:
    return git(project.parent / "origin.git", *args).strip()


def changed(project: Path, base: str, branch: str) -> set[str]:
    """What the PR's diff shows (``base...branch``), the dev log's dated name made plain."""
    names = origin(project, "diff", "--name-only", f"{base}...{branch}").split()
    return {"docs/devlogs/priority-2" if n.startswith("docs/devlogs/") and "priority-2" in n else n for n in names}


def squash_merge(project: Path, number: int) -> None:
    """The person squash-merges the PR (the local forge's merge: a squash commit pushed to main)."""
    forge = LocalForge(load_config(project))
    forge.merge(forge.get(number), "squash")


def told(person: RecordingChannel, kind: str) -> list[str]:
    """What the person was told about PRIORITY 2, of ``kind``."""
    return [m for k, m in person.informed if k == kind and m.startswith(P2)]


def wait_for_prs(daemon: Daemon, *pids: str) -> None:
    wait_until(lambda: all(phase(daemon, pid) is Phase.PR_OPEN for pid in pids), timeout_s=120,
               what=f"PRs of {', '.join(pids)}")


class TestStackingOff:
    def test_the_dependent_waits_for_the_merge(self, tmp_path: Path) -> None:
        """Off (the default): with a free lane, PRIORITY 2 does not start while PRIORITY 1's PR is open; after the
        squash merge it starts from main, and its PR targets main with no stacking note."""
        project = sandbox(tmp_path, stack=False)
        with running(project) as (daemon, _):
            wait_for_prs(daemon, P1)
            wait_until(lambda: daemon.store.info().get("phase") == "idle", timeout_s=60, what="the daemon idle")
            assert daemon.store.get(P2) is None  # considered with a lane free, and not started
            merging = time.time()
            squash_merge(project, 1)
            wait_for_prs(daemon, P2)
        store = StateStore(project / ".coffee_maker" / "state.db")
        # After the merge (the roadmap on main says 1 is complete even before the poll records it as merged).
        assert first(store, P2, Phase.BRANCHED) > merging
        pr2 = record(project, B2)
        assert pr2["base"] == "main" and "stacked on" not in pr2["body"]
        state = store.get(P2)
        assert state is not None and "stack" not in state.extra


class TestStackingOn:
    def test_stacked_then_landed_after_a_squash_merge(self, tmp_path: Path) -> None:
        """On: PRIORITY 2 starts on PRIORITY 1's open PR (its branch holds 1's commits, its PR targets 1's branch
        and says "stacked on #1"); 1 is squash-merged → 2 is rebased onto main with only its own commits,
        its PR retargeted to main, and the person told."""
        project = sandbox(tmp_path, stack=True)
        with running(project) as (daemon, person):
            wait_for_prs(daemon, P1, P2)
            assert phase(daemon, P1) is Phase.PR_OPEN  # 2 reached its PR before 1 merged
            pr2 = record(project, B2)
            assert pr2["base"] == B1 and "stacked on #1" in pr2["body"]
            assert git(project.parent / "origin.git", "merge-base", "--is-ancestor", B1, B2) == ""  # holds 1's work
            assert changed(project, B1, B2) == P2_FILES  # its PR's diff: only 2's work
            state = daemon.store.get(P2)
            assert state is not None and state.extra["stacked_on"] == P1 and state.extra["stacked_pr"] == 1
            assert state.extra["stacked_tip"] == origin(project, "rev-parse", B1)
            cut = state.extra["stacked_tip"]

            squash_merge(project, 1)
            wait_until(lambda: (s := daemon.store.get(P2)) is not None and s.extra.get("stack") == "landed"
                       and phase(daemon, P1) is Phase.DONE, timeout_s=60, what="PRIORITY 1 done, PRIORITY 2 landed")
            assert phase(daemon, P2) is Phase.PR_OPEN
            wait_until(lambda: told(person, "pr_updated"), timeout_s=30, what="the person told")
            landed = told(person, "pr_updated")
            # Landed: the body's receipt is rendered again, without the "stacked on #1" note.
            wait_until(lambda: "stacked on" not in record(project, B2)["body"], timeout_s=30,
                       what="the stacking note gone from PRIORITY 2's PR body")
        assert len(landed) == 1 and "rebased onto main" in landed[0] and "retargeted PR #2 to main" in landed[0]
        assert record(project, B2)["base"] == "main"
        assert git(project.parent / "origin.git", "merge-base", "--is-ancestor", "main", B2) == ""
        mine = origin(project, "rev-list", f"main..{B2}").split()
        assert mine and all("Priority: PRIORITY 2" in origin(project, "log", "-1", "--format=%B", c) for c in mine)
        assert cut not in origin(project, "rev-list", B2).split()  # none of 1's own commits came along
        assert changed(project, "main", B2) == P2_FILES
        roadmap = origin(project, "show", f"{B2}:docs/ROADMAP.md")
        assert roadmap.count("✅") >= 2  # 1's tick (from main) and 2's, no conflict left behind

    def test_parent_closed_unmerged_blocks_the_dependent(self, tmp_path: Path) -> None:
        """PRIORITY 1's PR closed without merge → PRIORITY 2 is blocked saying so; its branch and PR stay."""
        project = sandbox(tmp_path, stack=True)
        with running(project) as (daemon, person):
            wait_for_prs(daemon, P1, P2)
            tip = origin(project, "rev-parse", B2)
            LocalForge(load_config(project)).close(B1)
            wait_until(lambda: told(person, "blocked"), timeout_s=60, what="PRIORITY 2 blocked, and the person told")
            blocked = told(person, "blocked")
        state = StateStore(project / ".coffee_maker" / "state.db").get(P2)
        assert state is not None and state.extra["stack"] == "orphaned"
        assert "PR #1 was closed without merge" in state.reason and P1 in state.reason
        assert len(blocked) == 1 and "closed without merge" in blocked[0] and "coffee-maker retry" in blocked[0]
        assert origin(project, "rev-parse", B2) == tip  # the branch is kept as it was
        pr2 = record(project, B2)
        assert pr2["state"] == "open" and pr2["base"] == B1
