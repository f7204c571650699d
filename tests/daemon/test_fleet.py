"""Three daemons on three clones of one origin share a roadmap of nine priorities in three chains.

Each daemon is a `coffee-maker run` process with its own clone and state directory; they
coordinate only through claim refs on the shared bare origin. A person merges every PR as it
opens, which is what lets the next priority of a chain start. Every priority must be done
exactly once, by one daemon, with one branch and one PR — none started twice because one
daemon's view of the remote was older than another's merge.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from pathlib import Path

from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.demo_lanes import build_lanes_sandbox
from coffee_maker.testing.config_edit import set_config
from coffee_maker.testing.waiting import wait_until
from tests.conftest import git
from tests.daemon.conftest import start_daemon_process

CHAINS = {2: 1, 3: 2, 5: 4, 6: 5, 8: 7, 9: 8}  # three chains: 1→2→3, 4→5→6, 7→8→9


def _states(clone: Path) -> list[tuple[str, Phase]]:
    db = clone / ".coffee_maker" / "state.db"
    try:
        return [(s.priority, s.phase) for s in StateStore(db).all()] if db.exists() else []
    except Exception:  # noqa: BLE001 — the daemon may be writing; look again
        return []


def _clone(origin: Path, path: Path, name: str, config: str) -> Path:
    git(path.parent, "clone", "-q", str(origin), str(path))
    git(path, "config", "user.name", name)
    git(path, "config", "user.email", f"{name}@example.invalid")
    (path / "coffee_maker.toml").write_text(config)
    return path


def test_three_daemons_do_nine_chained_priorities_each_exactly_once(tmp_path: Path) -> None:
    first = build_lanes_sandbox(tmp_path / "s", count=9, lanes=2, work_s=0.3, depends=CHAINS)
    set_config(first / "coffee_maker.toml", "daemon", claims=True, claim_lease_s=10.0, claim_skew_margin_s=1.0)
    origin = tmp_path / "s" / "origin.git"
    config = (first / "coffee_maker.toml").read_text()
    clones = [first, _clone(origin, tmp_path / "second", "second", config),
              _clone(origin, tmp_path / "third", "third", config)]
    person = _clone(origin, tmp_path / "person", "person", config)
    merged: list[str] = []
    stop = threading.Event()

    def merge_open_prs() -> None:
        """The person: merges every open PR of any daemon into main, once."""
        while not stop.is_set():
            for clone in clones:
                for pid, phase in _states(clone):
                    if phase is not Phase.PR_OPEN or pid in merged:
                        continue
                    branch = f"coffee-maker/{pid.lower().replace(' ', '-')}-part-{pid.split()[-1]}"
                    git(person, "pull", "-q", "--no-rebase", "origin", "main")
                    git(person, "fetch", "-q", "origin", branch)
                    git(person, "merge", "-q", "--no-edit", "FETCH_HEAD")
                    git(person, "push", "-q", "origin", "HEAD:main")
                    merged.append(pid)
            stop.wait(0.3)

    daemons: list[subprocess.Popen[bytes]] = []
    merger = threading.Thread(target=merge_open_prs, daemon=True)
    merger.start()
    try:
        daemons = [start_daemon_process(clone) for clone in clones]
        wait_until(lambda: sum(phase is Phase.DONE for c in clones for _, phase in _states(c)) >= 9,
                   timeout_s=420, what="nine priorities done")
        for daemon in daemons:
            daemon.send_signal(signal.SIGTERM)
        assert [d.wait(timeout=60) for d in daemons] == [0, 0, 0]
    finally:
        stop.set()
        merger.join(10)
        for daemon in daemons:
            if daemon.poll() is None:
                daemon.kill()

    worked = [pid for c in clones for pid, _ in _states(c)]
    assert sorted(worked) == sorted(f"PRIORITY {n}" for n in range(1, 10))  # each by exactly one daemon
    assert sum(1 for c in clones if _states(c)) >= 2  # the work was shared
    reviews = [json.loads(p.read_text()) for c in clones for p in (c / ".coffee_maker" / "reviews").glob("*.json")]
    assert len(reviews) == 9 and len({r["branch"] for r in reviews}) == 9  # one PR each
    branches = [b for b in git(origin, "branch", "--format=%(refname:short)").split() if b.startswith("coffee-maker/")]
    assert len(branches) == 9
    assert sorted(merged) == sorted(f"PRIORITY {n}" for n in range(1, 10))
    # Done everywhere: every claim was released, and no checkpoint was left behind.
    assert git(origin, "for-each-ref", "--format=%(refname)", "refs/coffee-maker/").split() == []
    roadmap = git(origin, "show", "main:docs/ROADMAP.md")
    assert roadmap.count("✅") >= 9
