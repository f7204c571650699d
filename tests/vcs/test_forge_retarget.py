"""``Forge.retarget``: a stacked PR pointed at another base, through every provider — GitHub and GitLab
against the fake forge, gh through a stub `gh api`, the local forge's JSON record."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from coffee_maker.config import LoadedConfig
from coffee_maker.config.git import ForgeSettings
from coffee_maker.errors import ForgeError
from coffee_maker.testing.fake_forge import FakeForge
from coffee_maker.types import PullRequest
from coffee_maker.vcs.forge.gh import GhCliForge
from coffee_maker.vcs.forge.github import GitHubForge
from coffee_maker.vcs.forge.gitlab import GitLabForge
from coffee_maker.vcs.forge.local import LocalForge
from tests.conftest import git
from tests.vcs.test_forges import GH_STUB


@pytest.fixture
def fake() -> Iterator[FakeForge]:
    with FakeForge(token="t0k", gitlab_project="g/r") as server:
        yield server
    assert server.problems == []


class TestGitHub:
    def test_patch_base(self, fake: FakeForge) -> None:
        """`PATCH /repos/o/r/pulls/2` with only `base`; the PR comes back on the new base, title and body kept."""
        forge = GitHubForge(fake.url, "o", "r", "t0k", ForgeSettings())
        forge.open_or_update(branch="p2", base="p1", title="T", body="stacked on #1")
        pr = forge.retarget(forge.get(1), "main")
        patch = [r for r in fake.requests if r.method == "PATCH"]
        assert [(r.path, r.json) for r in patch] == [("/repos/o/r/pulls/1", {"base": "main"})]
        assert pr.base == "main" and fake.pull(1)["base"]["ref"] == "main" and fake.pull(1)["body"] == "stacked on #1"

    def test_a_refusal_is_a_sentence(self, fake: FakeForge) -> None:
        """A PR the forge does not know: a ForgeError saying what could not be done."""
        forge = GitHubForge(fake.url, "o", "r", "t0k", ForgeSettings())
        forge.open_or_update(branch="p2", base="p1", title="T", body="B")
        gone = forge.get(1)
        fake.data.pulls.clear()
        with pytest.raises(ForgeError, match="could not retarget #1 onto main: 404"):
            forge.retarget(gone, "main")
        fake.problems.clear()


class TestGitLab:
    def test_put_target_branch(self, fake: FakeForge) -> None:
        """`PUT /projects/g%2Fr/merge_requests/1` with `target_branch`; the MR is rendered on the new target."""
        forge = GitLabForge(fake.gitlab_url, "g/r", "t0k", ForgeSettings())
        forge.open_or_update(branch="p2", base="p1", title="T", body="B")
        pr = forge.retarget(forge.get(1), "main")
        put = [r for r in fake.requests if r.method == "PUT"]
        assert [(r.path, r.json) for r in put] == [("/api/v4/projects/g%2Fr/merge_requests/1",
                                                    {"target_branch": "main"})]
        assert pr.base == "main" and forge.get(1).base == "main"


class TestGh:
    def test_gh_api_patch(self, fake: FakeForge, tmp_path: Path) -> None:
        """The gh provider sends GitHub's call through `gh api --method PATCH` (one code path with GitHubForge)."""
        stub = tmp_path / "gh"
        stub.write_text(GH_STUB.format(python=sys.executable, url=fake.url))
        stub.chmod(0o755)
        forge = GhCliForge("o", "r", ForgeSettings(), gh=str(stub), env={"GH_TOKEN": "t0k"})
        forge.open_or_update(branch="p2", base="p1", title="T", body="B")
        assert forge.retarget(forge.get(1), "main").base == "main"
        assert fake.pull(1)["base"]["ref"] == "main"


class TestLocal:
    def test_the_record_gets_the_new_base(self, loaded: LoadedConfig, repo: tuple[Path, Path]) -> None:
        """The JSON record and its summary name the new base; the PR stays open with its number."""
        _, work = repo
        for branch in ("p1", "p2"):
            git(work, "checkout", "-q", "-b", branch)
            (work / f"{branch}.txt").write_text(branch)
            git(work, "add", "-A")
            git(work, "commit", "-q", "-m", f"feat: {branch}")
            git(work, "push", "-q", "origin", branch)
        forge = LocalForge(loaded)
        opened = forge.open_or_update(branch="p2", base="p1", title="T", body="B")
        pr = forge.retarget(opened, "main")
        assert pr.base == "main" and pr.number == opened.number and forge.get(opened.number).base == "main"
        assert "`p2` → `main`" in (loaded.layout.reviews / "p2.md").read_text()

    def test_no_record_is_a_sentence(self, loaded: LoadedConfig) -> None:
        """A PR with no record (removed by hand): a sentence, not a KeyError."""
        with pytest.raises(ForgeError, match="no local pull request for p9"):
            LocalForge(loaded).retarget(PullRequest(number=9, url="u", branch="p9", base="p1", title="T"), "main")
