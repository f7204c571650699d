"""A daemon that died with its PR open: the daemon that takes its expired claim over adopts the PR and
follows it to the merge — when the forge is shared, so it can find the PR by its branch. The first
daemon, back or merely starved, learns that its claim is held elsewhere and leaves the PR alone: two
daemons answering one PR's reviews would do every fix twice."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from coffee_maker.config import load_config
from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.demo_lanes import build_lanes_sandbox
from coffee_maker.testing.config_edit import set_config
from coffee_maker.testing.daemon_run import run_daemon_until
from coffee_maker.testing.fake_forge import FakeForge
from coffee_maker.testing.waiting import wait_until
from coffee_maker.vcs.claims import ClaimHeldError, ClaimStore
from coffee_maker.vcs.forge.github import GitHubForge
from tests.conftest import git
from tests.daemon.pr_harness import running

P1, BRANCH, SLUG = "PRIORITY 1", "coffee-maker/priority-1-part-1", "priority-1"
CLAIM = f"refs/coffee-maker/claims/{SLUG}"


def _sandbox(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The project (claims on, short leases), its origin, and another machine's clone whose daemon opened
    PRIORITY 1's PR: its branch on the remote holds the work and the roadmap ticked complete."""
    project = build_lanes_sandbox(tmp_path / "s", count=1, lanes=1)
    origin = tmp_path / "s" / "origin.git"
    set_config(project / "coffee_maker.toml", "daemon", claims=True, claim_lease_s=3.0, claim_skew_margin_s=0.5)
    return project, origin, push_other_daemons_branch(tmp_path, origin)


def push_other_daemons_branch(tmp_path: Path, origin: Path) -> Path:
    """What another daemon's attempt leaves on the remote once its PR opened: PRIORITY 1's branch with the
    work and the roadmap ticked complete (the last thing an attempt pushes). Returns that daemon's clone."""
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(origin), str(other))
    git(other, "checkout", "-q", "-b", BRANCH)
    roadmap = other / "docs" / "ROADMAP.md"
    roadmap.write_text(roadmap.read_text().replace("**Status**: 📝 Planned", "**Status**: ✅ Complete", 1))
    (other / "weather" / "part1.py").write_text('"""Part 1, by the other daemon."""\n')
    git(other, "add", "-A")
    git(other, "-c", "user.name=other", "-c", "user.email=o@example.invalid", "commit", "-qm", "feat: part 1")
    git(other, "push", "-q", "origin", "HEAD")
    return other


def _claims(clone: Path, owner: str, *, clock_offset_s: float) -> ClaimStore:
    return ClaimStore(clone, remote="origin", owner=owner, lease_s=3.0, margin_s=0.5,
                      clock=lambda: time.time() + clock_offset_s)


def _owner(origin: Path) -> str:
    """The claim commit's message (it names the owner), or "" when there is no claim."""
    shown = subprocess.run(["git", "log", "-1", "--format=%B", CLAIM, "--"], cwd=origin, capture_output=True,
                           text=True, check=False)
    return shown.stdout if shown.returncode == 0 else ""


def test_a_dead_daemons_open_pr_is_adopted_and_followed_to_the_merge(tmp_path: Path) -> None:
    project, origin, other = _sandbox(tmp_path)
    # The other daemon claimed it an hour ago and died: its lease ran out long since.
    _claims(other, "vm/dead", clock_offset_s=-3600).acquire(P1, SLUG)
    with FakeForge(token="t0k") as fake:
        GitHubForge(fake.url, "o", "r", "t0k", load_config(project).config.forge).open_or_update(
            branch=BRANCH, base="main", title="PRIORITY 1: Part 1", body="Opened by the daemon that died.")
        with running(project, fake, block_p2=False) as run:
            state = run.state()
            assert state.pr_number == 1 and state.branch == BRANCH and state.extra["adopted_from"] == "vm/dead"
            assert run.agents == []  # adopted, not done again
            assert "vm/dead" not in _owner(origin)  # the claim changed hands (compare-and-swap on the expired one)
            assert len(fake.data.pulls) == 1
            fake.set_merged(1)
            wait_until(lambda: run.phase() is Phase.DONE, timeout_s=60, what="the adopted PR followed to its merge")
            wait_until(lambda: _owner(origin) == "", timeout_s=60, what="the claim released")
    assert run.agents == []
    moves = [(to, detail) for _, to, _, detail in StateStore(load_config(project).layout.state_db).history(P1)]
    assert moves[0] == ("pr_open", "adopted from vm/dead") and moves[-1][0] == "done"


def test_with_a_forge_per_clone_the_claim_is_given_back(tmp_path: Path) -> None:
    """The local forge keeps its PRs in the clone that opened them: the heir cannot see the PR, so it
    adopts nothing and does nothing twice."""
    project, origin, other = _sandbox(tmp_path)
    _claims(other, "vm/dead", clock_offset_s=-3600).acquire(P1, SLUG)
    released: list[float] = []
    seen_again: list[str] = []

    def given_back_and_left_alone() -> bool:
        """Taken over, given back — and not claimed again turn after turn (each would cost two pushes)."""
        owner = _owner(origin)
        if not released:
            if owner == "":
                released.append(time.monotonic())
            return False
        if owner:
            seen_again.append(owner)
        return time.monotonic() - released[0] > 7.0  # three turns or more at this sandbox's 2-s poll interval

    assert run_daemon_until(project, given_back_and_left_alone, timeout_s=120)
    assert seen_again == []
    assert StateStore(load_config(project).layout.state_db).get(P1) is None  # never started here


def _following(project: Path) -> StateStore:
    """This daemon's state: PRIORITY 1's PR open, followed from here (the branch is on the remote)."""
    store = StateStore(load_config(project).layout.state_db)
    store.reconcile(P1, Phase.PR_OPEN, detail="opened before", branch=BRANCH, pr_number=1, pr_url="u", attempt=1,
                    extra={"base": "main"})
    return store


def test_a_daemon_back_after_its_pr_was_adopted_leaves_it(tmp_path: Path) -> None:
    project, origin, other = _sandbox(tmp_path)
    store = _following(project)
    _claims(other, "vm/heir", clock_offset_s=0).acquire(P1, SLUG)  # held, not expired: the heir follows the PR
    assert run_daemon_until(project, lambda: store.get(P1).phase is Phase.SKIPPED, timeout_s=60)  # type: ignore[union-attr]
    left = store.get(P1)
    assert left is not None and "its PR is followed by vm/heir now" in left.reason
    assert "vm/heir" in _owner(origin)  # never overwritten


def test_a_daemon_whose_review_claim_is_taken_over_while_it_runs_leaves_the_pr(tmp_path: Path) -> None:
    """A starved renewal: the heir, its clock an hour ahead, takes the claim over by the real compare-and-swap
    while this daemon follows the PR; this daemon's next renewal finds it lost and leaves the PR."""
    project, origin, other = _sandbox(tmp_path)
    store = _following(project)
    heir = _claims(other, "vm/heir", clock_offset_s=3600)
    taken: list[bool] = []

    def taken_over() -> bool:
        if not taken and "vm/heir" not in _owner(origin) and _owner(origin):  # this daemon's claim is there
            try:
                taken.append(heir.acquire(P1, SLUG).taken_from is not None)
            except ClaimHeldError:  # renewed by this daemon in the same moment: try again
                pass
        left = store.get(P1)
        return left is not None and left.phase is Phase.SKIPPED

    assert run_daemon_until(project, taken_over, timeout_s=90)
    assert taken == [True]
    assert "its PR is followed by vm/heir now" in str(store.get(P1).reason)  # type: ignore[union-attr]
