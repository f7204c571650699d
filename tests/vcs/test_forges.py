"""Forge providers: GitHub and GitLab against a local fake REST server, and the local provider."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from coffee_maker.config import LoadedConfig, load_config
from coffee_maker.config.git import ForgeSettings
from coffee_maker.errors import ForgeError
from coffee_maker.testing.fake_forge import FakeForge
from coffee_maker.types import Priority, PRState, PullRequest
from coffee_maker.vcs import GitManager, make_forge
from coffee_maker.vcs.forge import owner_and_repo
from coffee_maker.vcs.forge.gh import GhCliForge, parse_included
from coffee_maker.vcs.forge.github import GitHubForge
from coffee_maker.vcs.forge.gitlab import GitLabForge
from coffee_maker.vcs.forge.local import LocalForge
from tests.conftest import git


@pytest.fixture
def fake() -> Iterator[FakeForge]:
    with FakeForge(token="t0k", owner="o", repo="r", gitlab_project="g/sub/r",
                   collaborators={"ann": "write", "bob": "maintain", "cy": "admin"}) as server:
        yield server
    assert server.problems == []  # every request had the right headers, path and JSON


def github(fake: FakeForge, **settings: object) -> GitHubForge:
    return GitHubForge(fake.url, "o", "r", "t0k", ForgeSettings(**settings))  # type: ignore[arg-type]


class TestGitHub:
    def test_open_is_idempotent(self, fake: FakeForge) -> None:
        """The first call creates the PR; the second finds and updates it — never a second PR."""
        forge = github(fake)
        first = forge.open_or_update(branch="coffee-maker/x", base="main", title="T", body="B")
        second = forge.open_or_update(branch="coffee-maker/x", base="main", title="T2", body="B2")
        assert first.number == second.number == 1 and len(fake.data.pulls) == 1
        assert fake.calls("POST") == [("POST", "/repos/o/r/pulls"), ("POST", "/repos/o/r/issues/1/labels")]
        patch = [r for r in fake.requests if r.method == "PATCH"]
        assert [r.json for r in patch] == [{"title": "T2", "body": "B2"}] and second.title == "T2"

    def test_update_adds_labels_and_reviewers_a_crash_left_out(self, fake: FakeForge) -> None:
        """A PR opened just before a crash (no labels, no reviewers) gets them when the next run updates it;
        nothing already there is sent again, and a reviewer who already reviewed is not re-requested."""
        github(fake, labels=[], reviewers=[]).open_or_update(branch="b", base="main", title="T", body="B")
        fake.review(1, "COMMENTED", "looks fine", user="bob")
        forge = github(fake, labels=["coffee-maker", "ai"], reviewers=["ann", "bob"])
        forge.open_or_update(branch="b", base="main", title="T2", body="B")
        assert [x["name"] for x in fake.pull(1)["labels"]] == ["coffee-maker", "ai"]
        assert fake.pull(1)["requested_reviewers"] == [{"login": "ann"}]
        before = len(fake.calls("POST"))
        forge.open_or_update(branch="b", base="main", title="T3", body="B")
        assert len(fake.calls("POST")) == before  # complete already: no label or reviewer call

    def test_request_headers_and_payload(self, fake: FakeForge) -> None:
        """The create call carries the versioned headers, a Bearer token and the documented JSON fields."""
        github(fake, labels=["bot", "ai"], reviewers=["ann"], draft=True).open_or_update(
            branch="coffee-maker/x", base="trunk", title="T", body="B")
        create = fake.requests[1]
        assert create.headers["accept"] == "application/vnd.github+json"
        assert create.headers["x-github-api-version"] == "2022-11-28"
        assert create.headers["authorization"] == "Bearer t0k"
        assert create.json == {"title": "T", "head": "coffee-maker/x", "base": "trunk", "body": "B", "draft": True}
        pr = fake.pull(1)
        assert [x["name"] for x in pr["labels"]] == ["bot", "ai"] and pr["requested_reviewers"] == [{"login": "ann"}]

    def test_per_call_labels_reviewers_draft(self, fake: FakeForge) -> None:
        """Arguments to open_or_update override the configured labels, reviewers and draft."""
        github(fake).open_or_update(branch="b", base="main", title="T", body="B", labels=[], reviewers=["bob"],
                                    draft=True)
        assert fake.pull(1)["labels"] == [] and fake.pull(1)["draft"] is True
        assert fake.pull(1)["requested_reviewers"] == [{"login": "bob"}]

    def test_422_already_exists_is_recovered(self, fake: FakeForge) -> None:
        """When the PR exists but listing missed it (a race), GitHub's 422 leads to an update, not a duplicate."""
        forge = github(fake, labels=[])
        forge.open_or_update(branch="coffee-maker/x", base="main", title="T", body="B")
        original_find = forge._find
        calls = {"n": 0}

        def racing_find(branch: str, *, details: bool) -> PullRequest | None:
            calls["n"] += 1
            return None if calls["n"] == 1 else original_find(branch, details=details)

        forge._find = racing_find  # type: ignore[method-assign]
        pr = forge.open_or_update(branch="coffee-maker/x", base="main", title="T3", body="B")
        assert pr.number == 1 and len(fake.data.pulls) == 1 and pr.title == "T3"
        statuses = [r.method for r in fake.requests if r.path == "/repos/o/r/pulls"]
        assert statuses.count("POST") == 2

    def test_closed_pr_gets_a_new_one(self, fake: FakeForge) -> None:
        """A closed PR is not reopened silently: a new PR is opened for the branch."""
        forge = github(fake)
        forge.open_or_update(branch="b", base="main", title="T", body="B")
        fake.set_closed(1)
        assert forge.open_or_update(branch="b", base="main", title="T", body="B").number == 2

    def test_state_review_and_checks(self, fake: FakeForge) -> None:
        """Merged state, a changes-requested review and CI check status are read back."""
        forge = github(fake)
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        assert pr.state is PRState.OPEN and pr.review_decision is None and pr.checks is None
        fake.set_checks(1, ("in_progress", None), ("completed", "success"))
        fake.review(1, "CHANGES_REQUESTED", "rename it", user="ann")
        found = forge.find("b")
        assert found is not None and found.review_decision == "changes_requested" and found.checks == "pending"
        fake.set_checks(1, ("completed", "failure"))
        fake.review(1, "APPROVED", user="ann")
        assert forge.get(1).review_decision == "approved" and forge.get(1).checks == "failure"
        fake.set_merged(1)
        assert forge.get(1).state is PRState.MERGED

    def test_feedback_and_comment(self, fake: FakeForge) -> None:
        """Review bodies, inline comments and conversation comments come back oldest first, with path and line."""
        forge = github(fake)
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        fake.review(1, "CHANGES_REQUESTED", "needs tests", user="ann")
        fake.review_comment(1, "typo", path="src/a.py", line=3, user="bob")
        fake.comment(1, "and docs", user="cy")
        comments = forge.comments(pr)
        assert [(c.author, c.kind, c.path, c.line) for c in comments] == [
            ("ann", "review", None, None), ("bob", "inline", "src/a.py", 3), ("cy", "comment", None, None)]
        assert forge.feedback(pr) == ["ann: needs tests", "bob (src/a.py:3): typo", "cy: and docs"]
        forge.comment(pr, "Addressed in abc123.")
        assert fake.data.comments[1][-1]["body"] == "Addressed in abc123."

    def test_bad_token_is_a_sentence(self, fake: FakeForge) -> None:
        """A 401 says what to fix."""
        with pytest.raises(ForgeError, match="refused the token"):
            GitHubForge(fake.url, "o", "r", "bad", ForgeSettings()).find("b")

    def test_fake_rejects_missing_headers(self, fake: FakeForge) -> None:
        """The fake checks headers like the API would: a request without the version header is refused."""
        response = httpx.get(f"{fake.url}/repos/o/r/pulls", headers={"Authorization": "Bearer t0k"})
        assert response.status_code == 400 and len(fake.problems) == 1
        fake.problems.clear()


class TestGhCli:
    def test_gh_provider_through_a_stub_gh(self, fake: FakeForge, tmp_path: Path) -> None:
        """The gh provider's `gh api --include` calls (argv, stdin JSON, status parsing, 422) work end to end."""
        stub = tmp_path / "gh"
        stub.write_text(GH_STUB.format(python=sys.executable, url=fake.url))
        stub.chmod(0o755)
        forge = GhCliForge("o", "r", ForgeSettings(labels=["x"]), gh=str(stub),
                           env={"GH_TOKEN": "t0k"})
        first = forge.open_or_update(branch="b", base="main", title="T", body="B")
        assert forge.open_or_update(branch="b", base="main", title="T2", body="B").number == first.number == 1
        fake.review(1, "CHANGES_REQUESTED", "more", user="ann")
        assert forge.find("b").review_decision == "changes_requested"  # type: ignore[union-attr]
        assert forge.feedback(first) == ["ann: more"] and len(fake.data.pulls) == 1

    @pytest.mark.skipif(shutil.which("gh") is None, reason="the gh CLI is not installed (`apt-get install gh`); "
                        "Debian's gh reaches a fake only as github.localhost through an HTTP proxy")
    def test_real_gh_against_the_fake(self, fake: FakeForge, tmp_path: Path) -> None:
        """The real gh, pointed at the fake as github.localhost through it as HTTP proxy, opens a PR."""
        env = {"GH_TOKEN": "t0k", "GH_ENTERPRISE_TOKEN": "t0k", "HTTP_PROXY": fake.url, "http_proxy": fake.url,
               "GH_CONFIG_DIR": str(tmp_path / "gh"), "NO_PROXY": "", "GH_NO_UPDATE_NOTIFIER": "1"}
        forge = GhCliForge("o", "r", ForgeSettings(labels=["bot"]), hostname="github.localhost", env=env)
        first = forge.open_or_update(branch="b", base="main", title="T", body="B")
        assert forge.open_or_update(branch="b", base="main", title="T2", body="B").number == first.number == 1
        fake.review(1, "CHANGES_REQUESTED", "more tests", user="ann")
        assert forge.get(1).review_decision == "changes_requested" and forge.feedback(first) == ["ann: more tests"]
        create = next(r for r in fake.requests if r.method == "POST" and r.path == "/repos/o/r/pulls")
        assert create.json["head"] == "b" and create.headers["authorization"] == "token t0k"
        assert len(fake.data.pulls) == 1 and fake.pull(1)["labels"] == [{"name": "bot"}]

    def test_parse_included(self) -> None:
        """`gh api --include` output is read as status and JSON; anything else is a clear error."""
        assert parse_included('HTTP/2.0 422 Unprocessable\nX-A: y\n\n{"message": "m"}', "") == (422, {"message": "m"}, {"x-a": "y"})
        with pytest.raises(ForgeError, match="gh auth status"):
            parse_included("", "gh: not logged in")


GH_STUB = """#!{python}
# A stand-in for `gh api --include`: forwards the request to the fake forge and prints status, headers, body.
import sys, httpx, os
args = sys.argv[1:]
assert args[:2] == ["api", "--include"], args
method, path, headers, body = "GET", None, {{}}, None
i = 2
while i < len(args):
    a = args[i]
    if a in ("--hostname",):
        i += 2; continue
    if a == "--method":
        method = args[i + 1]; i += 2; continue
    if a == "-H":
        k, v = args[i + 1].split(": ", 1); headers[k] = v; i += 2; continue
    if a == "--input":
        body = sys.stdin.read(); i += 2; continue
    path = a; i += 1
headers["Authorization"] = "token " + os.environ["GH_TOKEN"]
headers["Content-Type"] = "application/json"
r = httpx.request(method, "{url}/" + path, headers=headers, content=body)
print(f"HTTP/1.1 {{r.status_code}} {{r.reason_phrase}}")
print("Content-Type: application/json")
print()
print(r.text)
sys.exit(0 if r.status_code < 400 else 1)
"""


class TestGitLab:
    def gitlab(self, fake: FakeForge, **settings: object) -> GitLabForge:
        return GitLabForge(fake.gitlab_url, "g/sub/r", "t0k", ForgeSettings(**settings))  # type: ignore[arg-type]

    def test_open_then_update(self, fake: FakeForge) -> None:
        """A merge request is created once at the URL-encoded project path, then updated — still a draft."""
        forge = self.gitlab(fake, draft=True)
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        assert forge.open_or_update(branch="b", base="main", title="T2", body="B2").title == "Draft: T2"
        assert fake.pull(1)["draft"] is True and fake.pull(1)["body"] == "B2"
        assert pr.number == 1 and len(fake.data.pulls) == 1 and pr.provider == "gitlab"
        create = next(r for r in fake.requests if r.method == "POST")
        assert create.path == "/api/v4/projects/g%2Fsub%2Fr/merge_requests"
        assert create.headers["private-token"] == "t0k"
        assert create.json["title"] == "Draft: T" and create.json["labels"] == "coffee-maker"

    def test_409_already_exists_is_recovered(self, fake: FakeForge) -> None:
        """GitLab's 409 "Another open merge request already exists" (a race) leads to an update."""
        forge = self.gitlab(fake)
        forge.open_or_update(branch="b", base="main", title="T", body="B")
        original_find, calls = forge._find_raw, {"n": 0}

        def racing_find(branch: str) -> dict[str, Any] | None:
            calls["n"] += 1
            return None if calls["n"] == 1 else original_find(branch)

        forge._find_raw = racing_find  # type: ignore[method-assign]
        assert forge.open_or_update(branch="b", base="main", title="T9", body="B").title == "T9"
        assert [r.method for r in fake.requests].count("POST") == 2 and len(fake.data.pulls) == 1

    def test_state_notes_and_comment(self, fake: FakeForge) -> None:
        """Merged state, changes requested, pipeline status and notes (with diff positions) are read back."""
        forge = self.gitlab(fake)
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        fake.review(1, "CHANGES_REQUESTED", "needs tests", user="ann")
        fake.review_comment(1, "typo", path="a.py", line=2, user="bob")
        fake.comment(1, "merged by bot", system=True)
        fake.set_checks(1, ("completed", "success"))
        got = forge.get(1)
        assert got.review_decision == "changes_requested" and got.checks == "success"
        assert forge.feedback(pr) == ["ann: needs tests", "bob (a.py:2): typo"]
        forge.comment(pr, "done")
        assert fake.data.comments[1][-1]["body"] == "done"
        fake.set_merged(1)
        assert forge.find("b").state is PRState.MERGED  # type: ignore[union-attr]


class TestLocalAndSelection:
    def test_local_pr_lifecycle(self, loaded: LoadedConfig, priority: Priority) -> None:
        """Local PRs are numbered once per branch, take review feedback, and turn merged on merge."""
        manager = GitManager(loaded)
        ws = manager.prepare(priority)
        (ws.path / "a.py").write_text("a = 1\n")
        manager.commit(ws, "feat: a", {})
        manager.push(ws)
        forge = LocalForge(loaded)
        pr = forge.open_or_update(branch=ws.branch, base="main", title="T", body="B")
        assert forge.open_or_update(branch=ws.branch, base="main", title="T", body="B2").number == pr.number == 1
        forge.review(ws.branch, author="ann", body="add a docstring", changes_requested=True)
        found = forge.find(ws.branch)
        assert found is not None and found.review_decision == "changes_requested"
        assert forge.feedback(found) == ["ann: add a docstring"]
        git(loaded.repo, "merge", "-q", f"origin/{ws.branch}")
        git(loaded.repo, "push", "-q", "origin", "main")
        manager.fetch()
        assert forge.find(ws.branch).state is PRState.MERGED  # type: ignore[union-attr]

    def test_auto_selection(self, loaded: LoadedConfig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """A local bare remote means the local provider; a GitHub remote without a token is a clear error."""
        assert make_forge(loaded).name == "local"
        git(loaded.repo, "remote", "set-url", "origin", "git@github.com:o/r.git")
        bin_dir = tmp_path / "bin"  # git only: no `gh` to ask for a token
        bin_dir.mkdir()
        (bin_dir / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
        monkeypatch.setenv("PATH", str(bin_dir))
        with pytest.raises(ForgeError, match="No GitHub token"):
            make_forge(load_config(loaded.repo))
        monkeypatch.setenv("GITHUB_TOKEN", "t")
        assert make_forge(load_config(loaded.repo)).name == "github"

    @pytest.mark.parametrize(("url", "expected"), [
        ("git@github.com:o/r.git", ("o", "r")), ("https://github.com/o/r", ("o", "r")),
        ("https://gitlab.com/g/sub/r.git", ("g/sub", "r")), ("/tmp/origin.git", None)])
    def test_owner_and_repo(self, url: str, expected: tuple[str, str] | None) -> None:
        """Owner and repository come from every common remote URL form."""
        assert owner_and_repo(url) == expected


class TestLocalExtras:
    def test_get_by_number_comment_and_summary(self, loaded: LoadedConfig) -> None:
        """Local PRs are found by number, take the daemon's notes, and keep a Markdown summary next to the record."""
        forge = LocalForge(loaded)
        first = forge.open_or_update(branch="coffee-maker/a", base="main", title="A", body="body A")
        second = forge.open_or_update(branch="coffee-maker/b", base="main", title="B", body="body B", draft=True)
        assert (first.number, second.number) == (1, 2) and forge.get(2).branch == "coffee-maker/b"
        forge.comment(first, "Addressed the review.")
        summary = (loaded.state_dir / "reviews" / "coffee-maker-a.md").read_text()
        assert "body A" in summary and "Addressed the review." in summary
        forge.review("coffee-maker/a", author="ann", body="ok", changes_requested=False)
        assert [(c.author, c.kind) for c in forge.comments(first)] == [("ann", "review")]
        with pytest.raises(ForgeError, match="no local pull request #9"):
            forge.get(9)

    def test_provider_selection_by_url(self, loaded: LoadedConfig, monkeypatch: pytest.MonkeyPatch) -> None:
        """auto picks GitHub (Enterprise API path for other hosts), GitLab, or gh when configured."""
        monkeypatch.setenv("GITHUB_TOKEN", "t")
        monkeypatch.setenv("GITLAB_TOKEN", "t")
        ghe = make_forge(loaded, "git@github.example.com:o/r.git")
        assert isinstance(ghe, GitHubForge) and str(ghe.client.base_url).startswith("https://github.example.com/api/v3")
        lab = make_forge(loaded, "https://gitlab.example.com/g/sub/r.git")
        assert isinstance(lab, GitLabForge) and lab.project == "g%2Fsub%2Fr"
        (loaded.repo / "coffee_maker.toml").write_text("[forge]\nprovider = \"gh\"\n")
        gh = make_forge(load_config(loaded.repo), "https://github.com/o/r")
        assert isinstance(gh, GhCliForge) and gh.hostname == "github.com"
        assert make_forge(loaded, "/srv/git/origin.git").name == "local"

    def test_a_remote_that_does_not_name_the_repository(self, loaded: LoadedConfig,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
        """A path or a mirror as the remote: [forge] repository names the forge's repository; without it, a sentence."""
        monkeypatch.setenv("GITHUB_TOKEN", "t")
        (loaded.repo / "coffee_maker.toml").write_text("[forge]\nprovider = \"github\"\n")
        with pytest.raises(ForgeError, match='repository = \\"owner/name\\"'):
            make_forge(load_config(loaded.repo), "/srv/git/origin.git")
        (loaded.repo / "coffee_maker.toml").write_text(
            "[forge]\nprovider = \"github\"\napi_url = \"https://ghe.example/api/v3\"\nrepository = \"o/r\"\n")
        forge = make_forge(load_config(loaded.repo), "/srv/git/origin.git")
        assert isinstance(forge, GitHubForge) and (forge.owner, forge.repo) == ("o", "r")


class TestEndToEnd:
    def test_branch_push_and_pr_through_make_forge(self, loaded: LoadedConfig, priority: Priority,
                                                   fake: FakeForge) -> None:
        """A GitHub remote + [forge] api_url/token: work pushed to the bare origin, PR opened on the fake, then merged."""
        (loaded.repo / "coffee_maker.toml").write_text(
            f"[git]\ntest_command = \"true\"\n[forge]\napi_url = \"{fake.url}\"\ntoken = \"t0k\"\n"
            "reviewers = [\"ann\"]\n")
        cfg = load_config(loaded.repo)
        manager = GitManager(cfg)
        ws = manager.prepare(priority)
        (ws.path / "guide.py").write_text("STEPS = 3\n")
        manager.commit(ws, f"feat({priority.id_slug}): {priority.title}", {"Priority": priority.id})
        manager.push(ws)
        forge = make_forge(cfg, "git@github.com:o/r.git")
        pr = forge.open_or_update(branch=ws.branch, base=ws.base, title=priority.title, body="b")
        assert fake.pull(pr.number)["head"]["ref"] == "coffee-maker/priority-2-5-new-user-experience"
        assert fake.pull(pr.number)["requested_reviewers"] == [{"login": "ann"}]
        fake.set_merged(pr.number)
        assert forge.find(ws.branch).state is PRState.MERGED  # type: ignore[union-attr]


class TestVerify:
    @pytest.mark.skipif(shutil.which("gh") is None, reason="the gh CLI is not installed (`apt-get install gh`)")
    def test_real_gh_verifies_against_the_fake(self, fake: FakeForge, tmp_path: Path) -> None:
        """`doctor`'s check through the real gh: who the token is and that it may write to the repository."""
        env = {"GH_TOKEN": "t0k", "GH_ENTERPRISE_TOKEN": "t0k", "HTTP_PROXY": fake.url, "http_proxy": fake.url,
               "GH_CONFIG_DIR": str(tmp_path / "gh"), "NO_PROXY": "", "GH_NO_UPDATE_NOTIFIER": "1"}
        forge = GhCliForge("o", "r", ForgeSettings(), hostname="github.localhost", env=env)
        assert forge.verify() == "gh: signed in as coffee-maker, may write to o/r"

    def test_unknown_repository(self, fake: FakeForge) -> None:
        """A token that cannot see the repository (a typo in the remote) is a sentence naming both."""
        with pytest.raises(ForgeError, match="coffee-maker's token cannot see o/typo"):
            GitHubForge(fake.url, "o", "typo", "t0k", ForgeSettings()).verify()
        with pytest.raises(ForgeError, match="cannot see g/typo"):
            GitLabForge(fake.gitlab_url, "g/typo", "t0k", ForgeSettings()).verify()
        fake.problems.clear()  # the 404 was the point

    def test_app_token(self, fake: FakeForge) -> None:
        """A GitHub App's token (as in Actions) has no /user: verified by reaching the repository."""
        fake.app_token = True
        assert GitHubForge(fake.url, "o", "r", "t0k", ForgeSettings()).verify() == "github: an app token, reaches o/r"
