"""SIGKILL the daemon at 30 points in its work, restart it, and check the invariants each time:
one PR per priority, no lost commit, the roadmap intact, no orphan agent process."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.demo import build_sandbox
from coffee_maker.roadmap import SetNote, SetStatus, Tick, edit_text, parse_roadmap
from coffee_maker.types import Status
from tests.conftest import git

RUNS = 30
BRANCHES = ("coffee-maker/priority-1-temperature-conversion-helpers", "coffee-maker/priority-2-forecast-summary")


def _start(project: Path, lanes: int = 1) -> subprocess.Popen[bytes]:
    env = {**os.environ, "COFFEE_MAKER_NOTIFY__TIMEOUT_S": "0.5", "COFFEE_MAKER_DAEMON__POLL_INTERVAL_S": "0.5",
           "COFFEE_MAKER_DAEMON__LANES": str(lanes)}
    return subprocess.Popen([sys.executable, "-m", "coffee_maker", "run", "--repo", str(project)], cwd=project, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _settled(project: Path) -> bool:
    db = project / ".coffee_maker" / "state.db"
    if not db.exists():
        return False
    states = StateStore(db).all()
    return len([s for s in states if s.phase is Phase.PR_OPEN]) == 2


def _phases(project: Path) -> list[tuple[str, str, str]]:
    """Each priority's phase and last failure reason, to say where a run got stuck."""
    return [(s.priority, s.phase.value, s.reason) for s in StateStore(project / ".coffee_maker" / "state.db").all()]


def _processes_in(directory: Path) -> list[int]:
    """Live processes whose working directory is inside ``directory``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            state = (entry / "stat").read_text().split(") ", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and cwd.startswith(str(directory)):
            found.append(int(entry.name))
    return found


def _check_invariants(project: Path, original_roadmap: str) -> None:
    origin = project.parent / "origin.git"
    records = [json.loads(p.read_text()) for p in (project / ".coffee_maker" / "reviews").glob("*.json")]
    assert sorted(r["branch"] for r in records) == sorted(BRANCHES), "exactly one PR per priority"
    assert sorted(r["number"] for r in records) == [1, 2]
    for branch in BRANCHES:
        subjects = git(origin, "log", "--format=%s", f"main..{branch}").split("\n")
        feats = [s for s in subjects if s.startswith("feat(")]
        assert len(feats) == 1, f"one work commit on {branch}: {subjects}"
        roadmap = git(origin, "show", f"{branch}:docs/ROADMAP.md")
        parsed = parse_roadmap(roadmap)
        assert [p.id for p in parsed.priorities] == ["PRIORITY 1", "PRIORITY 2"] and not parsed.warnings
        record = next(r for r in records if r["branch"] == branch)
        pid = "PRIORITY 1" if "priority-1" in branch else "PRIORITY 2"
        # The demo agent claims every deliverable (its `- [x]` lines), so all are ticked — also after a kill.
        intended = edit_text(original_roadmap, pid, [SetStatus(Status.COMPLETE), Tick(), SetNote("PR", record["url"])])
        assert roadmap == intended, "the roadmap differs from before only in the intended lines"
    assert (project / "docs" / "ROADMAP.md").read_text() == original_roadmap
    assert git(project, "status", "--porcelain") == ""


@pytest.mark.slow
@pytest.mark.parametrize("lanes", [1, 2])
@pytest.mark.parametrize("run", range(RUNS))
def test_sigkill_at_random_points_then_resume(tmp_path: Path, run: int, lanes: int) -> None:
    """Kills at seeded random moments (1-3 per run, RUNS runs); each restart finishes with the invariants intact.

    One test per run, so the runs spread over the xdist workers and each has the whole
    per-test timeout, instead of thirty runs sharing one. With lanes = 2 both priorities run at once.
    """
    rng = random.Random(20261123 + run)
    project = build_sandbox(tmp_path / f"run-{run}")
    original = (project / "docs" / "ROADMAP.md").read_text()
    kills = 1 + run % 3
    for _ in range(kills):
        daemon = _start(project, lanes)
        time.sleep(rng.uniform(0.3, 2.2))
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(30)
    daemon = _start(project, lanes)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not _settled(project):
        time.sleep(0.1)
    daemon.terminate()
    daemon.wait(60)
    assert _settled(project), f"run {run}: the daemon did not finish after restarts: {_phases(project)}"
    _check_invariants(project, original)
    deadline = time.monotonic() + 10
    while _processes_in(project.parent) and time.monotonic() < deadline:
        time.sleep(0.1)  # a child told to exit by PDEATHSIG may need a moment
    assert _processes_in(project.parent) == [], f"run {run}: orphan processes left"
