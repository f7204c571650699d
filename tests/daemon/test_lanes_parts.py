"""The parts of lanes one at a time: the planner's next k, the per-lane live status, the claims the
daemon keeps, and other daemons' merged work — on real SQLite files and a real bare remote."""

from __future__ import annotations

import threading
from pathlib import Path

from coffee_maker.config import load_config
from coffee_maker.daemon.leases import ClaimKeeper
from coffee_maker.daemon.planning import RoadmapView, next_ready, plan
from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.daemon.status import StatusBoard
from coffee_maker.daemon.wiring import pick_next, roadmap_reader
from coffee_maker.roadmap import parse_roadmap, read_roadmap
from coffee_maker.vcs.claims import ClaimStore
from coffee_maker.vcs.git import GitManager
from tests.conftest import git

ROADMAP = "".join(
    f"## PRIORITY {n}: Part {n}\n\n**Status**: 📝 Planned\n{dep}\n"
    for n, dep in ((1, ""), (2, ""), (3, "**Dependencies**: PRIORITY 1\n"), (4, ""), (5, "")))


def _view() -> RoadmapView:
    roadmap = parse_roadmap(ROADMAP)
    return RoadmapView(roadmap.priorities, list(roadmap.guidelines), roadmap.warnings)


def _ids(priorities: list[object]) -> list[str]:
    return [p.id for p in priorities]  # type: ignore[attr-defined]


class TestNextReady:
    def test_the_next_k_in_roadmap_order_excluding_the_running_and_their_dependents(self, tmp_path: Path) -> None:
        store = StateStore(tmp_path / "state.db")
        pick = pick_next(store)
        ready = next_ready(_view(), store, pick=pick, retry_delay_s=30, count=3, running=frozenset({"PRIORITY 1"}))
        assert _ids(ready) == ["PRIORITY 2", "PRIORITY 4", "PRIORITY 5"]  # 3 waits for 1, which runs

    def test_work_left_mid_way_goes_first_unless_a_lane_runs_it(self, tmp_path: Path) -> None:
        store = StateStore(tmp_path / "state.db")
        store.transition("PRIORITY 4", Phase.BRANCHED, branch="b4")
        pick = pick_next(store)
        assert _ids(next_ready(_view(), store, pick=pick, retry_delay_s=30, count=2)) == ["PRIORITY 4", "PRIORITY 1"]
        running = frozenset({"PRIORITY 4"})
        assert _ids(next_ready(_view(), store, pick=pick, retry_delay_s=30, count=2, running=running)) == [
            "PRIORITY 1", "PRIORITY 2"]

    def test_fewer_ready_than_free_lanes(self, tmp_path: Path) -> None:
        store = StateStore(tmp_path / "state.db")
        for pid in ("PRIORITY 2", "PRIORITY 4", "PRIORITY 5"):
            store.transition(pid, Phase.SKIPPED)
        ready = next_ready(_view(), store, pick=pick_next(store), retry_delay_s=30, count=3)
        assert _ids(ready) == ["PRIORITY 1"]


class TestLaneStatus:
    def test_each_lane_writes_its_row_and_the_single_lane_keys_follow(self, tmp_path: Path) -> None:
        store = StateStore(tmp_path / "state.db")
        board = StatusBoard(store)

        def lane(n: int, pid: str, step: str, done: threading.Event) -> None:
            board.bind_lane(n)
            board.working(pid)
            board.step(step)
            done.set()

        for n, pid, step in ((0, "PRIORITY 1", "agent running"), (1, "PRIORITY 2", "validating")):
            done = threading.Event()
            threading.Thread(target=lane, args=(n, pid, step, done)).start()
            assert done.wait(10)
        rows = store.info()["lanes"]
        assert {k: (r["priority"], r["step"]) for k, r in rows.items()} == {
            "0": ("PRIORITY 1", "agent running"), "1": ("PRIORITY 2", "validating")}
        assert store.info()["current"] == "PRIORITY 2" and store.info()["phase"] == "validating"
        board.bind_lane(1)
        board.finished()  # lane 1 ends: the single-lane keys show lane 0, still running
        info = store.info()
        assert list(info["lanes"]) == ["0"] and info["current"] == "PRIORITY 1" and info["phase"] == "agent running"
        board.bind_lane(None)
        board.step("inline")  # `run --once`: no lane row is written
        assert list(store.info()["lanes"]) == ["0"] and store.info()["phase"] == "inline"


class TestClaimKeeper:
    def test_claimed_once_refused_to_another_owner_released_when_final(self, origin_and_clone: tuple[Path, Path],
                                                                       tmp_path: Path) -> None:
        origin, clone = origin_and_clone
        other = tmp_path / "other"
        git(tmp_path, "clone", "-q", str(origin), str(other))
        mine = ClaimKeeper(ClaimStore(clone, remote="origin", owner="me"))
        theirs = ClaimKeeper(ClaimStore(other, remote="origin", owner="them"))
        assert mine.claim("PRIORITY 1") and mine.claim("PRIORITY 1")  # again: already ours
        assert not theirs.claim("PRIORITY 1") and theirs.claim("PRIORITY 2")
        store = StateStore(tmp_path / "state.db")
        store.transition("PRIORITY 1", Phase.SKIPPED)
        mine.release_finished(store)
        assert "PRIORITY 1" not in mine.held and theirs.claim("PRIORITY 1")

    def test_a_claim_taken_by_another_daemon_is_reported_lost(self, origin_and_clone: tuple[Path, Path],
                                                               tmp_path: Path) -> None:
        origin, clone = origin_and_clone
        other = tmp_path / "other"
        git(tmp_path, "clone", "-q", str(origin), str(other))
        now = [1000.0]
        lost: list[str] = []
        mine = ClaimKeeper(ClaimStore(clone, remote="origin", owner="me", lease_s=30, margin_s=0,
                                      clock=lambda: now[0]), on_lost=lost.append)
        assert mine.claim("PRIORITY 1")
        now[0] += 100  # our lease ran out (a long suspend); another daemon takes it over
        taker = ClaimStore(other, remote="origin", owner="them", lease_s=30, margin_s=0, clock=lambda: now[0])
        taker.acquire("PRIORITY 1", "priority-1")
        mine.renew()
        assert lost == ["PRIORITY 1"] and not mine.held

    def test_a_checkpoint_that_cannot_be_made_still_renews_the_claim(self, origin_and_clone: tuple[Path, Path],
                                                                       tmp_path: Path) -> None:
        """The worktree's git is broken: no checkpoint, but the lease must not run out over it."""
        _, clone = origin_and_clone
        now = [1000.0]
        mine = ClaimKeeper(ClaimStore(clone, remote="origin", owner="me", lease_s=30, margin_s=0,
                                      clock=lambda: now[0]))
        assert mine.claim("PRIORITY 1")
        before = mine.held["PRIORITY 1"]
        broken = tmp_path / "broken-worktree"
        broken.mkdir()
        (broken / ".git").write_text("gitdir: /nowhere/at/all\n")
        now[0] += 15  # past a third of the lease: due
        mine.renew({"PRIORITY 1": broken})
        after = mine.held["PRIORITY 1"]
        assert after.sequence == before.sequence + 1 and after.expires_at > before.expires_at

    def test_off_without_a_store(self) -> None:
        keeper = ClaimKeeper(None)
        assert keeper.claim("PRIORITY 1") and not keeper.enabled and keeper.next_renewal_in(0) is None


def test_work_merged_by_another_daemon_counts_as_complete(sandbox: Path, tmp_path: Path) -> None:
    """The remote's roadmap marks PRIORITY 1 complete (another daemon's PR merged): after a fetch the daemon's
    view and `status`/`roadmap next` (``plan``) both go on to PRIORITY 2."""
    elsewhere = tmp_path / "elsewhere"
    git(tmp_path, "clone", "-q", str(sandbox.parent / "origin.git"), str(elsewhere))
    roadmap = elsewhere / "docs" / "ROADMAP.md"
    roadmap.write_text(roadmap.read_text().replace("**Status**: 📝 Planned", "**Status**: ✅ Complete", 1))
    git(elsewhere, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qam", "feat: PRIORITY 1 merged")
    git(elsewhere, "push", "-q", "origin", "main")
    loaded = load_config(sandbox)
    manager = GitManager(loaded)
    manager.fetch()
    view = roadmap_reader(loaded, manager)()
    assert view.complete_on_remote == frozenset({"PRIORITY 1"})
    store = StateStore(loaded.layout.state_db)
    assert _ids(next_ready(view, store, pick=pick_next(store, loaded), retry_delay_s=1, count=2)) == ["PRIORITY 2"]
    chosen, _ = plan(loaded, read_roadmap(loaded.roadmap_path)[1])
    assert chosen is not None and chosen.id == "PRIORITY 2"
