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
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from coffee_maker.commands.daemon_cmd import status_data
from coffee_maker.config import load_config
from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.demo_lanes import build_lanes_sandbox, clashing_script
from coffee_maker.testing.config_edit import set_config
from coffee_maker.testing.fake_forge import FakeForge
from coffee_maker.testing.waiting import wait_until
from tests.conftest import git
from tests.daemon.conftest import daemon_processes, start_daemon_process, stop_daemons

T = TypeVar("T")

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


class Fleet:
    """Three clones of one origin, a daemon process each, and a person merging every PR as it opens."""

    def __init__(self, tmp_path: Path, *, work_s: float) -> None:
        first = build_lanes_sandbox(tmp_path / "s", count=9, lanes=2, work_s=work_s, depends=CHAINS)
        set_config(first / "coffee_maker.toml", "daemon", claims=True, claim_lease_s=6.0, claim_skew_margin_s=0.5)
        self.origin = tmp_path / "s" / "origin.git"
        config = (first / "coffee_maker.toml").read_text()
        self.clones = [first, _clone(self.origin, tmp_path / "second", "second", config),
                       _clone(self.origin, tmp_path / "third", "third", config)]
        self.person = _clone(self.origin, tmp_path / "person", "person", config)
        self.merged: list[str] = []
        self.merge_errors: list[str] = []  # the person's merges that failed (and were tried again), for the failure message
        self.daemons: list[subprocess.Popen[bytes]] = []
        self._stop = threading.Event()
        self._merger = threading.Thread(target=self._merge_open_prs, daemon=True)

    def _merge_open_prs(self) -> None:
        while not self._stop.is_set():
            for clone in self.clones:
                for pid, phase in _states(clone):
                    if phase is not Phase.PR_OPEN or pid in self.merged:
                        continue
                    try:
                        self._merge(pid)
                    except subprocess.CalledProcessError as exc:  # a person would look again: so does this one
                        self.merge_errors.append(f"{pid}: {exc} {exc.stderr!r}")
                        subprocess.run(["git", "merge", "--abort"], cwd=self.person, capture_output=True, check=False)
                        continue
                    self.merged.append(pid)
            self._stop.wait(0.3)

    def _merge(self, pid: str) -> None:
        branch = f"coffee-maker/{pid.lower().replace(' ', '-')}-part-{pid.split()[-1]}"
        git(self.person, "pull", "-q", "--no-rebase", "origin", "main")
        git(self.person, "fetch", "-q", "origin", branch)
        git(self.person, "merge", "-q", "--no-edit", "FETCH_HEAD")
        git(self.person, "push", "-q", "origin", "HEAD:main")

    def __enter__(self) -> Fleet:
        self._merger.start()
        self.daemons = [start_daemon_process(clone) for clone in self.clones]
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._merger.join(10)
        for daemon in self.daemons:
            if daemon.poll() is None:
                daemon.kill()

    def wait(self, condition: Callable[[], T | None], *, timeout_s: float, what: str) -> T:
        """``wait_until``, with what the person's merges and the daemons did in the failure message."""
        try:
            return wait_until(condition, timeout_s=timeout_s, what=what)
        except AssertionError as exc:
            states = [_states(clone) for clone in self.clones]
            raise AssertionError(f"{exc}; merged {self.merged}, merge errors {self.merge_errors}, "
                                 f"daemon exits {[d.poll() for d in self.daemons]}, states {states}") from None

    def all_merged(self) -> bool:
        return git(self.origin, "show", "main:docs/ROADMAP.md").count("✅") >= 9

    def assert_each_done_once(self) -> None:
        """Nine merges, nine branches, nine PRs, every part on main, nothing left claimed."""
        everything = sorted(f"PRIORITY {n}" for n in range(1, 10))
        assert sorted(self.merged) == everything
        reviews = [json.loads(p.read_text()) for c in self.clones for p in (c / ".coffee_maker" / "reviews").glob("*.json")]
        assert len(reviews) == 9 and len({r["branch"] for r in reviews}) == 9  # one PR each
        branches = [b for b in git(self.origin, "branch", "--format=%(refname:short)").split()
                    if b.startswith("coffee-maker/")]
        assert len(branches) == 9
        for n in range(1, 10):  # no commit lost
            assert git(self.origin, "show", f"main:weather/part{n}.py") == f'"""Part {n}."""\n\nVALUE = {n}\n'


def test_three_daemons_do_nine_chained_priorities_each_exactly_once(tmp_path: Path) -> None:
    with Fleet(tmp_path, work_s=0.3) as fleet:
        fleet.wait(lambda: sum(phase is Phase.DONE for c in fleet.clones for _, phase in _states(c)) >= 9,
                   timeout_s=420, what="nine priorities done")
        stop_daemons(fleet.daemons)
    rows = [(pid, phase) for c in fleet.clones for pid, phase in _states(c)]
    done = [pid for pid, phase in rows if phase is Phase.DONE]
    assert sorted(done) == sorted(f"PRIORITY {n}" for n in range(1, 10))  # each by exactly one daemon
    # A daemon whose claim expired under load left its start to the daemon that took the claim over.
    assert all(phase is Phase.SKIPPED for pid, phase in rows if phase is not Phase.DONE), rows
    assert sum(1 for c in fleet.clones if _states(c)) >= 2  # the work was shared
    fleet.assert_each_done_once()
    # Done everywhere: every claim was released, and no checkpoint was left behind.
    assert git(fleet.origin, "for-each-ref", "--format=%(refname)", "refs/coffee-maker/").split() == []


def test_sigkill_of_one_daemon_among_three_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    """One daemon dies mid-agent: its claims expire, the others take its priorities over (continuing from
    its checkpoints, or giving back what the person already merged) and finish the roadmap."""
    with Fleet(tmp_path, work_s=2.0) as fleet:
        # Whichever daemon is mid-agent once two PRs have merged dies: which daemon wins which claim
        # race is the machines' business, so waiting for a chosen one could wait for ever.
        def one_mid_agent() -> subprocess.Popen[bytes] | None:
            if len(fleet.merged) < 2:
                return None
            return next((daemon for daemon, clone in zip(fleet.daemons, fleet.clones, strict=True)
                         if any(phase is Phase.AGENT_RUNNING for _, phase in _states(clone))), None)

        doomed = fleet.wait(one_mid_agent, timeout_s=240, what="a daemon mid-agent, two PRs merged")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=30)
        fleet.wait(fleet.all_merged, timeout_s=420, what="every priority merged")
        stop_daemons([d for d in fleet.daemons if d is not doomed])
    fleet.assert_each_done_once()


def test_a_branch_that_conflicts_with_another_daemons_open_pr_waits_for_it(tmp_path: Path, fake: FakeForge) -> None:
    """Two daemons, one lane each, one forge (the fake GitHub): PRIORITY 1 and 2 write the same file
    differently. Whichever daemon gets 2 checks its branch before the PR against 1's — pushed by the
    other daemon, its PR open on the forge — waits for the person to merge 1, and says so in its PR body."""
    first = build_lanes_sandbox(tmp_path / "s", count=2, lanes=1)
    set_config(first / "coffee_maker.toml", "daemon", claims=True, claim_lease_s=30.0)
    # The remote is a bare repository on disk; its pull requests live on the fake GitHub as o/r.
    set_config(first / "coffee_maker.toml", "forge", provider="github", api_url=fake.url, token="t0k", repository="o/r")
    clash = clashing_script(2, work_s=2.0)
    (tmp_path / "s" / "agent-scripts" / "priority-2.json").write_text(json.dumps(clash))
    origin = tmp_path / "s" / "origin.git"
    clones = [first, _clone(origin, tmp_path / "second", "second", (first / "coffee_maker.toml").read_text())]
    person = _clone(origin, tmp_path / "person", "person", "")

    def holder(pid: str) -> Path | None:
        return next((c for c in clones if any(p == pid for p, _ in _states(c))), None)

    def waiting_for_p1() -> bool:
        where = holder("PRIORITY 2")
        return where is not None and "PRIORITY 1 to merge" in str(
            (status_data(load_config(where)).get("lanes") or [{}])[0].get("waiting_for"))

    with daemon_processes(clones) as daemons:
        wait_until(waiting_for_p1, timeout_s=120, what="PRIORITY 2 waiting for the other daemon's PR")
        git(person, "fetch", "-q", "origin", "coffee-maker/priority-1-part-1")
        git(person, "merge", "-q", "--no-edit", "FETCH_HEAD")
        git(person, "push", "-q", "origin", "HEAD:main")
        fake.set_merged(next(n for n, pr in fake.data.pulls.items() if pr["head"]["ref"] == "coffee-maker/priority-1-part-1"))
        wait_until(lambda: (where := holder("PRIORITY 2")) is not None
                   and dict(_states(where)).get("PRIORITY 2") is Phase.PR_OPEN, timeout_s=120, what="PRIORITY 2's PR")
        stop_daemons(daemons)
    p1_home, p2_home = holder("PRIORITY 1"), holder("PRIORITY 2")
    assert p1_home is not None and p2_home is not None and p1_home != p2_home  # one each
    body = next(pr["body"] for pr in fake.data.pulls.values() if pr["head"]["ref"] == "coffee-maker/priority-2-part-2")
    assert "waited for PRIORITY 1 to merge first" in body and "**conflicts**" in body  # 1 merged: 2 needs a rebase
