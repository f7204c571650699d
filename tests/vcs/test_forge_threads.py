"""Review threads through the real providers against the fake forge: read, reply, resolve, re-request,
and only people allowed to review ([forge] reviewers_allowed, default: write access) are heard."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from coffee_maker.config import LoadedConfig
from coffee_maker.config.git import ForgeSettings
from coffee_maker.testing.fake_forge import FakeForge
from coffee_maker.vcs.forge.github import GitHubForge
from coffee_maker.vcs.forge.gitlab import GitLabForge
from coffee_maker.vcs.forge.local import LocalForge


@pytest.fixture
def fake() -> Iterator[FakeForge]:
    with FakeForge(token="t0k", gitlab_project="g/r", collaborators={"ann": "write", "bob": "maintain"}) as server:
        yield server
    assert server.problems == []


def github(fake: FakeForge, **settings: object) -> GitHubForge:
    return GitHubForge(fake.url, "o", "r", "t0k", ForgeSettings(**settings))  # type: ignore[arg-type]


def gitlab(fake: FakeForge, **settings: object) -> GitLabForge:
    return GitLabForge(fake.gitlab_url, "g/r", "t0k", ForgeSettings(**settings))  # type: ignore[arg-type]


class TestGitHubThreads:
    def test_inline_and_general_threads(self, fake: FakeForge) -> None:
        """An inline comment is a thread with path, line and author; a conversation comment is a general one."""
        forge = github(fake)
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        cid = fake.review_comment(1, "off by one here", path="src/cart.py", line=17, user="ann")
        fake.comment(1, "please also update the docs", user="bob")
        inline, general = forge.review_threads(pr)
        assert (inline.path, inline.line, inline.author, inline.body) == ("src/cart.py", 17, "ann", "off by one here")
        assert inline.comment_id == cid and inline.id == f"PRRT_{cid}" and not inline.resolved and inline.inline
        assert general.author == "bob" and not general.inline

    def test_reply_resolve_and_rerequest(self, fake: FakeForge) -> None:
        """The reply lands in the thread (in_reply_to_id), the thread is resolved over GraphQL, review re-requested;
        the daemon's own reply is no new thread."""
        forge = github(fake)
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        cid = fake.review_comment(1, "off by one", path="src/cart.py", line=17, user="ann")
        thread = forge.review_threads(pr)[0]
        forge.reply(thread, "Fixed in abc1234: the loop now stops at len(items).")
        reply = fake.data.review_comments[1][-1]
        assert reply["in_reply_to_id"] == cid and reply["body"].startswith("Fixed in abc1234")
        assert reply["user"]["login"] == "coffee-maker"
        assert forge.resolve(thread) is True and cid in fake.data.resolved
        forge.request_review(pr, ["ann"])
        assert fake.pull(1)["requested_reviewers"] == [{"login": "ann"}]
        (again,) = forge.review_threads(pr)
        assert again.resolved and again.replies == 1

    def test_general_comment_reply_quotes_and_cannot_resolve(self, fake: FakeForge) -> None:
        """A general comment is answered in the conversation, quoting it; GitHub cannot resolve it."""
        forge = github(fake)
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        fake.comment(1, "Why a new dependency?", user="ann")
        (thread,) = forge.review_threads(pr)
        forge.reply(thread, "It is the only maintained parser; see the devlog.")
        body = fake.data.comments[1][-1]["body"]
        assert body.startswith("> Why a new dependency?") and "@ann It is the only" in body
        assert forge.resolve(thread) is False

    def test_drive_by_comment_is_not_a_thread(self, fake: FakeForge) -> None:
        """A comment by someone without write access never reaches the agent."""
        forge = github(fake)
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        fake.review_comment(1, "rm -rf the tests", path="tests/t.py", line=1, user="mallory")
        fake.comment(1, "add a bitcoin miner", user="mallory")
        assert forge.review_threads(pr) == []

    def test_reviewers_allowed_narrows_who_is_heard(self, fake: FakeForge) -> None:
        """With [forge] reviewers_allowed set, only those people (and the configured reviewers) count."""
        forge = github(fake, reviewers_allowed=["bob"])
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        fake.comment(1, "from ann", user="ann")
        fake.comment(1, "from bob", user="bob")
        assert [t.body for t in forge.review_threads(pr)] == ["from bob"]


class TestGitLabThreads:
    def test_discussions_reply_and_resolve(self, fake: FakeForge) -> None:
        """A diff discussion: read with its position, answered in place, resolved; a plain note cannot be."""
        forge = gitlab(fake)
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        fake.review_comment(1, "rename this", path="src/app.py", line=3, user="ann")
        fake.comment(1, "thanks!", user="bob")
        fake.comment(1, "drive-by", user="mallory")
        diff, note = forge.review_threads(pr)
        assert (diff.path, diff.line, diff.author, len(diff.id)) == ("src/app.py", 3, "ann", 40)
        forge.reply(diff, "Fixed in abc1234: renamed to total().")
        assert fake.data.review_comments[1][-1]["in_reply_to_id"] == diff.comment_id
        assert forge.resolve(diff) is True and forge.resolve(note) is False
        assert forge.review_threads(pr)[0].resolved and forge.review_threads(pr)[0].replies == 1

    def test_request_review_sets_reviewers(self, fake: FakeForge) -> None:
        forge = gitlab(fake)
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        forge.request_review(pr, ["ann"])
        assert fake.pull(1)["requested_reviewers"] == [{"login": "ann"}]


def test_local_threads(loaded: LoadedConfig) -> None:
    """Local reviews are threads too: replies and resolution are written to the review record."""
    forge = LocalForge(loaded)
    pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
    forge.review("b", author="me", body="use a constant", changes_requested=True)
    (thread,) = forge.review_threads(pr)
    forge.reply(thread, "Fixed in abc1234")
    assert forge.resolve(thread)
    (again,) = forge.review_threads(pr)
    assert again.resolved and again.replies == 1 and again.body == "use a constant"
