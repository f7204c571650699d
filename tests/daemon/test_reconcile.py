"""Start-up reconciliation against real git (a bare origin) and the local forge."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from coffee_maker.config import LoadedConfig, load_config
from coffee_maker.daemon.reconcile import reconcile
from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.errors import ForgeError
from coffee_maker.roadmap import read_roadmap
from coffee_maker.testing.daemon_run import run_until_settled
from coffee_maker.types import Priority, PullRequest
from coffee_maker.vcs import GitManager
from coffee_maker.vcs.forge.local import LocalForge
from tests.conftest import git


class Repo:
    """A demo sandbox with the daemon's git and forge, and helpers to put a priority in a given state."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.loaded: LoadedConfig = load_config(project)
        self.git = GitManager(self.loaded)
        self.forge = LocalForge(self.loaded)
        self.store = StateStore(self.loaded.layout.state_db)
        self.priorities = read_roadmap(self.loaded.roadmap_path)[1].priorities
        self.p1 = self.priorities[0]

    def open_pr(self, priority: Priority) -> PullRequest:
        """What the attempt pipeline leaves behind: a worktree, a pushed commit, an open PR, the state pr_open."""
        ws = self.git.prepare(priority)
        (ws.path / "weather" / "work.py").write_text("DONE = True\n")
        sha = self.git.commit(ws, f"feat({priority.id_slug}): {priority.title}", {"Priority": priority.id})
        self.git.push(ws)
        pr = self.forge.open_or_update(branch=ws.branch, base=ws.base, title=priority.title, body="b")
        for phase in (Phase.BRANCHED, Phase.AGENT_RUNNING, Phase.VALIDATING, Phase.COMMITTED, Phase.PUSHED):
            self.store.transition(priority.id, phase, branch=ws.branch, workspace=str(ws.path), attempt=1)
        self.store.transition(priority.id, Phase.PR_OPEN, commit_sha=sha, pr_number=pr.number, pr_url=pr.url)
        return pr

    def merge(self, branch: str) -> None:
        """The person merges the PR on the forge (a fast-forward of origin's main)."""
        git(self.project, "push", "-q", "origin", f"{branch}:main")

    def reconcile(self) -> list[str]:
        return [c.sentence for c in reconcile(self.store, self.git, self.forge, self.priorities)]

    def feats(self, branch: str) -> list[str]:
        return [s for s in git(self.project, "log", "--format=%s", f"origin/main..origin/{branch}").split("\n")
                if s.startswith("feat(")]


@pytest.fixture
def repo(sandbox: Path) -> Repo:
    return Repo(sandbox)


def _behind(store: StateStore, pid: str, phase: Phase) -> None:
    """A state that fell behind the forge (a restored state.db): an earlier phase, no PR recorded."""
    with store._tx() as db:  # the state machine forbids going back; a restored backup does not ask
        db.execute("UPDATE priorities SET phase = ?, pr_number = NULL, pr_url = NULL WHERE priority = ?",
                   (phase.value, pid))


def test_agreeing_state_is_left_alone(repo: Repo) -> None:
    repo.open_pr(repo.p1)
    before = repo.store.get(repo.p1.id)
    assert repo.reconcile() == []
    assert repo.store.get(repo.p1.id) == before


def test_lost_state_finds_the_open_pr_instead_of_working_again(repo: Repo) -> None:
    """state.db deleted while PR #1 is open: the priority is back in review with its number and URL."""
    pr = repo.open_pr(repo.p1)
    repo.store.close()
    (repo.loaded.layout.state_db).unlink()
    repo.store = StateStore(repo.loaded.layout.state_db)
    [sentence] = repo.reconcile()
    state = repo.store.get(repo.p1.id)
    assert state is not None and state.phase is Phase.PR_OPEN
    assert (state.pr_number, state.pr_url, state.branch) == (pr.number, pr.url, pr.branch)
    assert f"PR #{pr.number} is already open" in sentence and "no state" in sentence
    assert repo.store.get(repo.priorities[1].id) is None, "a priority never started stays unknown"
    assert repo.reconcile() == [], "a second reconciliation finds nothing to change"


@pytest.mark.parametrize("phase", [Phase.AGENT_RUNNING, Phase.RETRY])
def test_state_behind_an_open_pr_moves_to_pr_open(repo: Repo, phase: Phase) -> None:
    pr = repo.open_pr(repo.p1)
    _behind(repo.store, repo.p1.id, phase)
    [sentence] = repo.reconcile()
    state = repo.store.get(repo.p1.id)
    assert state is not None and state.phase is Phase.PR_OPEN and state.pr_number == pr.number
    assert f"while the state said {phase.value}" in sentence


def test_a_review_feedback_round_is_left_to_the_pipeline(repo: Repo) -> None:
    """agent_running with a known PR is the agent addressing review comments: it resumes, untouched."""
    repo.open_pr(repo.p1)
    repo.store.transition(repo.p1.id, Phase.AGENT_RUNNING, detail="review feedback")
    assert repo.reconcile() == []
    assert repo.store.get(repo.p1.id).phase is Phase.AGENT_RUNNING  # type: ignore[union-attr]


@pytest.mark.parametrize("phase", [Phase.AGENT_RUNNING, Phase.PUSHED])
def test_a_pr_merged_while_the_state_was_behind_is_done(repo: Repo, phase: Phase) -> None:
    """Merged while the daemon was down: done, not pushed again (the local forge would open a fresh PR)."""
    pr = repo.open_pr(repo.p1)
    _behind(repo.store, repo.p1.id, phase)
    repo.merge(pr.branch)
    [sentence] = repo.reconcile()
    state = repo.store.get(repo.p1.id)
    assert state is not None and state.phase is Phase.DONE and state.pr_number == pr.number
    assert f"PR #{pr.number} was merged while the state said {phase.value}" in sentence


def test_pr_open_and_merged_is_the_review_pollers(repo: Repo) -> None:
    """pr_open + merged is recorded by the poller's first poll (before the first step), not twice."""
    pr = repo.open_pr(repo.p1)
    repo.merge(pr.branch)
    assert repo.reconcile() == []
    assert repo.store.get(repo.p1.id).phase is Phase.PR_OPEN  # type: ignore[union-attr]


def test_merged_without_done_is_finished(repo: Repo) -> None:
    """A crash between the poller's two writes (merged, then done)."""
    repo.open_pr(repo.p1)
    repo.store.transition(repo.p1.id, Phase.MERGED)
    assert repo.reconcile() == [f"{repo.p1.id}: its merged pull request is now recorded as done."]
    assert repo.store.get(repo.p1.id).phase is Phase.DONE  # type: ignore[union-attr]


@pytest.mark.parametrize("phase", [Phase.PR_OPEN, Phase.PUSHED])
def test_branch_and_pr_gone_goes_back_to_retry(repo: Repo, phase: Phase) -> None:
    pr = repo.open_pr(repo.p1)
    if phase is Phase.PUSHED:
        _behind(repo.store, repo.p1.id, phase)
    state = repo.store.get(repo.p1.id)
    assert state is not None and state.workspace
    git(repo.project, "worktree", "remove", "--force", state.workspace)
    git(repo.project, "branch", "-q", "-D", pr.branch)
    git(repo.project, "push", "-q", "origin", "--delete", pr.branch)
    shutil.rmtree(repo.forge.dir)
    [sentence] = repo.reconcile()
    state = repo.store.get(repo.p1.id)
    assert state is not None and state.phase is Phase.RETRY and "is gone from git" in state.reason
    assert sentence.startswith(f"{repo.p1.id}: the state said {phase.value}, but its branch {pr.branch} is gone")


def test_pushed_branch_without_its_pr_is_left_to_the_pipeline(repo: Repo) -> None:
    """Pushed, PR not opened yet (a crash before open_or_update): the pipeline opens it; nothing here."""
    pr = repo.open_pr(repo.p1)
    _behind(repo.store, repo.p1.id, Phase.PUSHED)
    shutil.rmtree(repo.forge.dir)
    assert repo.reconcile() == []
    assert repo.store.get(repo.p1.id).phase is Phase.PUSHED  # type: ignore[union-attr]
    assert repo.feats(pr.branch) == [f"feat({repo.p1.id_slug}): {repo.p1.title}"], "no commit was lost"


def test_a_different_pr_number_is_followed(repo: Repo) -> None:
    pr = repo.open_pr(repo.p1)
    repo.store.update(repo.p1.id, pr_number=pr.number + 6)
    [sentence] = repo.reconcile()
    assert repo.store.get(repo.p1.id).pr_number == pr.number  # type: ignore[union-attr]
    assert f"the forge has #{pr.number} open" in sentence


def test_a_failing_forge_changes_nothing_and_does_not_raise(repo: Repo) -> None:
    repo.open_pr(repo.p1)
    _behind(repo.store, repo.p1.id, Phase.AGENT_RUNNING)

    class DownForge(LocalForge):
        def find(self, branch: str) -> PullRequest | None:
            raise ForgeError("the forge is down (HTTP 503)")

    changes = reconcile(repo.store, repo.git, DownForge(repo.loaded), repo.priorities)
    assert changes == [] and repo.store.get(repo.p1.id).phase is Phase.AGENT_RUNNING  # type: ignore[union-attr]


def test_the_daemon_reconciles_at_start_and_opens_no_second_pr(repo: Repo) -> None:
    """Crash recovery through `coffee-maker run`: state.db lost after PR #1 opened; the daemon starts,
    puts PRIORITY 1 back in review (no agent run, no second PR, one work commit) and does PRIORITY 2."""
    pr = repo.open_pr(repo.p1)
    repo.store.close()
    (repo.loaded.layout.state_db).unlink()
    p2 = repo.priorities[1]
    assert run_until_settled(repo.project, settled=2, timeout_s=60, answer_delay_s=0.1) == 0
    store = StateStore(repo.loaded.layout.state_db)
    state = store.get(repo.p1.id)
    assert state is not None and state.phase is Phase.PR_OPEN and state.pr_number == pr.number
    assert [h[3] for h in store.history(repo.p1.id)] == ["reconciled: the forge has its pull request"]
    assert sorted(p.name for p in repo.forge.dir.glob("*.json")) == sorted(
        f"{b.replace('/', '-')}.json" for b in (pr.branch, repo.git.branch_name(p2)))
    assert repo.feats(pr.branch) == [f"feat({repo.p1.id_slug}): {repo.p1.title}"]
    assert git(repo.project, "status", "--porcelain") == "", "the person's checkout is untouched"
