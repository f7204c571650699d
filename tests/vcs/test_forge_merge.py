"""Mergeability and merging through the real providers: GitHub and GitLab against the fake forge,
the local forge with real git (a temporary worktree, pushed to the bare remote)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coffee_maker.config import LoadedConfig
from coffee_maker.config.git import ForgeSettings
from coffee_maker.errors import ForgeError
from coffee_maker.testing.fake_forge import FakeForge
from coffee_maker.types import PRState
from coffee_maker.vcs.forge.github import GitHubForge
from coffee_maker.vcs.forge.gitlab import GitLabForge
from coffee_maker.vcs.forge.local import LocalForge
from tests.conftest import git


@pytest.fixture
def fake() -> Iterator[FakeForge]:
    with FakeForge(token="t0k", gitlab_project="g/r", collaborators={"ann": "write"}) as server:
        yield server
    assert server.problems == []


def github(fake: FakeForge) -> GitHubForge:
    return GitHubForge(fake.url, "o", "r", "t0k", ForgeSettings())


class TestGitHubMerge:
    def test_pull_request_fields(self, fake: FakeForge) -> None:
        """mergeable (None while computing), draft, head sha, and approved only by a person allowed to review."""
        forge = github(fake)
        forge.open_or_update(branch="b", base="main", title="T", body="B", draft=True)
        pr = forge.get(1)
        assert pr.mergeable is True and pr.draft and not pr.approved and pr.head_sha == fake.pull(1)["head"]["sha"]
        fake.set_mergeable(1, None)
        fake.review(1, "APPROVED", user="mallory")
        assert forge.get(1).mergeable is None and not forge.get(1).approved  # a drive-by approval counts not
        fake.review(1, "APPROVED", user="ann")
        assert forge.get(1).approved

    def test_squash_merge_guarded_by_sha_then_branch_deleted(self, fake: FakeForge) -> None:
        """PUT …/merge carries the method and the checked head sha; the branch is deleted after."""
        forge = github(fake)
        forge.open_or_update(branch="b", base="main", title="T", body="B")
        pr = forge.get(1)
        sha = forge.merge(pr, "squash")
        put = next(r for r in fake.requests if r.method == "PUT")
        assert put.path == "/repos/o/r/pulls/1/merge" and put.json == {"merge_method": "squash", "sha": pr.head_sha}
        assert sha and fake.data.merges == [(1, "squash")] and forge.get(1).state is PRState.MERGED
        forge.delete_branch("b")
        forge.delete_branch("b")  # already gone: fine
        assert fake.data.deleted_branches == ["b"]

    def test_moved_head_is_409(self, fake: FakeForge) -> None:
        """A push after the check: GitHub refuses (409) and the error says it is checked again."""
        forge = github(fake)
        forge.open_or_update(branch="b", base="main", title="T", body="B")
        pr = forge.get(1)
        fake.set_head(1, "f" * 40)
        with pytest.raises(ForgeError, match="head moved"):
            forge.merge(pr, "merge")
        assert fake.data.merges == []

    def test_not_mergeable_is_405(self, fake: FakeForge) -> None:
        """A conflict or a method the repository forbids: a sentence naming the likely causes."""
        forge = github(fake)
        forge.open_or_update(branch="b", base="main", title="T", body="B")
        fake.set_mergeable(1, False)
        with pytest.raises(ForgeError, match="will not merge #1: Pull Request is not mergeable"):
            forge.merge(forge.get(1), "merge")
        fake.set_mergeable(1, True)
        fake.merge_methods = {"squash"}
        with pytest.raises(ForgeError, match="Rebase merges are not allowed"):
            forge.merge(forge.get(1), "rebase")

    def test_auto_merge_over_graphql(self, fake: FakeForge) -> None:
        """enablePullRequestAutoMerge with the PR's node id; a repository without auto-merge is a clear error."""
        forge = github(fake)
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        forge.enable_auto_merge(pr, "squash")
        assert fake.pull(1)["auto_merge"]["merge_method"] == "squash"
        fake.auto_merge_allowed = False
        with pytest.raises(ForgeError, match="Auto merge is not allowed"):
            forge.enable_auto_merge(pr, "merge")


class TestGitLabMerge:
    def test_merge_squash_and_approval(self, fake: FakeForge) -> None:
        """Approved by a member (approvals API), merged with squash and the sha; a moved head is 409."""
        forge = GitLabForge(fake.gitlab_url, "g/r", "t0k", ForgeSettings())
        forge.open_or_update(branch="b", base="main", title="T", body="B")
        assert not forge.get(1).approved
        fake.review(1, "APPROVED", user="ann")
        pr = forge.get(1)
        assert pr.approved and pr.mergeable is True and pr.head_sha
        fake.set_head(1, "e" * 40)
        with pytest.raises(ForgeError, match="head moved"):
            forge.merge(pr, "squash")
        forge.merge(forge.get(1), "squash")
        assert fake.data.merges == [(1, "squash")]
        with pytest.raises(ForgeError, match="per project"):
            forge.merge(pr, "rebase")

    def test_merge_when_pipeline_succeeds(self, fake: FakeForge) -> None:
        """Auto-merge on GitLab: merge_when_pipeline_succeeds while the pipeline runs; not merged yet."""
        forge = GitLabForge(fake.gitlab_url, "g/r", "t0k", ForgeSettings())
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        fake.add_check(1, "pytest", "in_progress")
        forge.enable_auto_merge(forge.get(1), "merge")
        assert fake.pull(1)["auto_merge"] and fake.data.merges == [] and pr.number == 1
        fake.set_mergeable(1, False)
        with pytest.raises(ForgeError, match="will not merge !1"):
            forge.merge(forge.get(1), "merge")


def _branch(work: Path, name: str, path: str, text: str) -> None:
    git(work, "checkout", "-q", "-b", name)
    (work / path).write_text(text)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", f"feat: {name}")
    git(work, "push", "-q", "origin", name)
    git(work, "checkout", "-q", "main")


class TestLocalMerge:
    def test_squash_merge_pushes_the_base_and_leaves_the_checkout(self, loaded: LoadedConfig,
                                                                  repo: tuple[Path, Path]) -> None:
        """A real squash merge in a temporary worktree, pushed to the bare remote; the person's checkout,
        its branch and its files are as they were; the branch is deleted on the remote after."""
        origin, work = repo
        _branch(work, "coffee-maker/x", "feature.txt", "new\n")
        (work / "README.md").write_text("# sandbox\nlocal edit, uncommitted\n")
        forge = LocalForge(loaded)
        forge.open_or_update(branch="coffee-maker/x", base="main", title="Add feature", body="B")
        forge.review("coffee-maker/x", author="me", body="ok", changes_requested=False)
        pr = forge.get(1)
        assert pr.approved and pr.mergeable is True and pr.head_sha
        forge.merge(pr, "squash")
        assert git(origin, "show", "main:feature.txt").strip() == "new"
        assert git(origin, "log", "-1", "--format=%s", "main").strip() == "Add feature (#1)"
        assert git(work, "branch", "--show-current").strip() == "main"
        assert "local edit, uncommitted" in (work / "README.md").read_text() and not (work / "feature.txt").exists()
        assert forge._load("coffee-maker/x")["state"] == "merged"  # type: ignore[index]
        forge.delete_branch("coffee-maker/x")
        assert "coffee-maker/x" not in git(origin, "branch", "--list")
        assert "merge-" not in git(work, "worktree", "list")

    def test_conflict_is_refused_and_cleaned_up(self, loaded: LoadedConfig, repo: tuple[Path, Path]) -> None:
        """A branch that conflicts with the base: mergeable False, merge refused with a sentence, no worktree left."""
        origin, work = repo
        _branch(work, "coffee-maker/y", "README.md", "# theirs\n")
        (work / "README.md").write_text("# ours\n")
        git(work, "commit", "-qam", "docs: ours")
        git(work, "push", "-q", "origin", "main")
        git(work, "fetch", "-q", "origin")
        forge = LocalForge(loaded)
        forge.open_or_update(branch="coffee-maker/y", base="main", title="T", body="B")
        pr = forge.get(1)
        assert pr.mergeable is False
        with pytest.raises(ForgeError, match="does not merge cleanly"):
            forge.merge(pr, "merge")
        assert "merge-" not in git(work, "worktree", "list")
        assert git(origin, "show", "main:README.md").strip() == "# ours"
