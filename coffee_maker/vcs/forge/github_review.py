"""GitHub review threads (REST comments + GraphQL thread state) and merging.

Inline review comments form threads (``in_reply_to_id`` names the first comment); whether a
thread is resolved, and its id for resolving, exist only in GraphQL (``reviewThreads``,
``resolveReviewThread``). Review bodies and conversation comments are general threads, which
cannot be resolved.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import cached_property
from typing import Any, Literal

from coffee_maker.errors import ForgeError
from coffee_maker.types import PullRequest, ReviewThread
from coffee_maker.vcs.forge._github_api import GitHubApi, login_of
from coffee_maker.vcs.forge.errors import forge_errors_only
from coffee_maker.vcs.forge.trust import ReviewerTrust

MergeMethod = Literal["merge", "squash", "rebase"]
# GraphQL has no ETags: thread state is asked again only when the REST comments changed, or after this long
# (a person resolving a thread without a comment is seen within it).
THREAD_STATE_TTL_S = 300.0

THREADS_QUERY = """query($owner: String!, $repo: String!, $number: Int!) {
  repository(owner: $owner, name: $repo) { pullRequest(number: $number) {
    reviewThreads(first: 100) { nodes { id isResolved comments(first: 1) { nodes { databaseId } } } } } } }"""
RESOLVE = """mutation($id: ID!) { resolveReviewThread(input: {threadId: $id}) { thread { id isResolved } } }"""
AUTO_MERGE = """mutation($id: ID!, $method: PullRequestMergeMethod!) {
  enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: $method}) {
    pullRequest { id autoMergeRequest { mergeMethod } } } }"""


class GitHubReview(GitHubApi):
    @property
    def trust(self) -> ReviewerTrust:
        raise NotImplementedError  # GitHubForge's, from [forge] settings

    @cached_property
    def self_login(self) -> str | None:
        """Who the token is (its own replies are no review); None for an app token, which has no /user."""
        status, user = self._call("GET", "/user", "check the token", in_repo=False, allow=(403,))
        return None if status == 403 else str(user["login"])

    @cached_property
    def _thread_states(self) -> dict[int, tuple[tuple[int, ...], float, dict[int, tuple[str, bool]]]]:
        """PR number → (the inline comment ids seen, when asked, the thread state)."""
        return {}

    @forge_errors_only("GitHub")
    def review_threads(self, pr: PullRequest) -> list[ReviewThread]:
        """Threads started by people allowed to review ([forge] reviewers_allowed), oldest first."""
        inline = self._get(f"/pulls/{pr.number}/comments", "read review comments", {"per_page": "100"})
        roots = [c for c in inline if not c.get("in_reply_to_id")]
        replies: dict[int, int] = {}
        for c in inline:
            if c.get("in_reply_to_id"):
                replies[int(c["in_reply_to_id"])] = replies.get(int(c["in_reply_to_id"]), 0) + 1
        state = self._thread_state(pr.number, tuple(int(c["id"]) for c in inline)) if roots else {}
        threads = [ReviewThread(id=state.get(int(c["id"]), (str(c["id"]), False))[0], author=login_of(c),
                                body=str(c["body"]), path=c.get("path"), line=c.get("line") or c.get("original_line"),
                                resolved=state.get(int(c["id"]), ("", False))[1], comment_id=int(c["id"]),
                                pr_number=pr.number, replies=replies.get(int(c["id"]), 0)) for c in roots]
        for r in self._get(f"/pulls/{pr.number}/reviews", "read reviews"):
            if r.get("body"):
                threads.append(ReviewThread(id=f"review-{r['id']}", author=login_of(r), body=str(r["body"]),
                                            pr_number=pr.number))
        for c in self._get(f"/issues/{pr.number}/comments", "read comments", {"per_page": "100"}):
            threads.append(ReviewThread(id=f"comment-{c['id']}", author=login_of(c), body=str(c["body"]),
                                        comment_id=int(c["id"]), pr_number=pr.number))
        mine = self.self_login
        return self.trust.allowed([t for t in threads if t.author != mine])

    def _thread_state(self, number: int, comments: tuple[int, ...]) -> dict[int, tuple[str, bool]]:
        """First comment's id → (GraphQL thread id, resolved); remembered while the comments stay the same."""
        cache = self._thread_states
        known = cache.get(number)
        if known is not None and known[0] == comments and time.monotonic() - known[1] < THREAD_STATE_TTL_S:
            return known[2]
        state = self._thread_state_now(number)
        cache[number] = (comments, time.monotonic(), state)
        return state

    def _thread_state_now(self, number: int) -> dict[int, tuple[str, bool]]:
        data = self._graphql(THREADS_QUERY, {"owner": self.owner, "repo": self.repo, "number": number},
                             "read review threads")
        nodes = data["repository"]["pullRequest"]["reviewThreads"]["nodes"]
        return {int(n["comments"]["nodes"][0]["databaseId"]): (str(n["id"]), bool(n["isResolved"]))
                for n in nodes if n["comments"]["nodes"]}

    @forge_errors_only("GitHub")
    def reply(self, thread: ReviewThread, body: str) -> None:
        """Answer in the thread (an inline one), or quote the comment in the conversation (a general one)."""
        if thread.inline and thread.comment_id is not None:
            self._call("POST", f"/pulls/{thread.pr_number}/comments/{thread.comment_id}/replies",
                       "reply to the review comment", payload={"body": body})
            return
        quoted = "\n".join(f"> {line}" for line in thread.body.splitlines()[:3])
        self._call("POST", f"/issues/{thread.pr_number}/comments", "reply to the comment",
                   payload={"body": f"{quoted}\n\n@{thread.author} {body}"})

    @forge_errors_only("GitHub")
    def resolve(self, thread: ReviewThread) -> bool:
        """Resolve an inline thread (GraphQL); False for a general comment, which GitHub cannot resolve."""
        if not thread.inline or not thread.id.startswith("PRRT_"):
            return False
        data = self._graphql(RESOLVE, {"id": thread.id}, "resolve the review thread")
        self._thread_states.pop(thread.pr_number, None)  # the state changed: ask again
        return bool(data["resolveReviewThread"]["thread"]["isResolved"])

    @forge_errors_only("GitHub")
    def request_review(self, pr: PullRequest, reviewers: Sequence[str]) -> None:
        """Ask (again) for a review; GitHub notifies a person who already reviewed, which is the point here."""
        if reviewers:
            self._call("POST", f"/pulls/{pr.number}/requested_reviewers", "request reviewers",
                       payload={"reviewers": list(reviewers)})

    @forge_errors_only("GitHub")
    def merge(self, pr: PullRequest, method: MergeMethod) -> str:
        """Merge, guarded by the head sha we checked (a push since then is a 409, not a surprise); the merge sha."""
        payload: dict[str, Any] = {"merge_method": method, **({"sha": pr.head_sha} if pr.head_sha else {})}
        status, data = self._call("PUT", f"/pulls/{pr.number}/merge", f"merge #{pr.number}", payload=payload,
                                  allow=(405, 409, 422))
        message = data.get("message", "") if isinstance(data, dict) else ""
        if status == 405:
            raise ForgeError(f"GitHub will not merge #{pr.number}: {message} (405: branch protection, a required "
                             "check or review, a conflict, or the merge method is not allowed on this repository).")
        if status == 409:
            raise ForgeError(f"GitHub did not merge #{pr.number}: its head moved since it was checked (409: "
                             f"{message}); it is checked again on the next poll.")
        if status == 422:
            raise ForgeError(f"GitHub did not merge #{pr.number}: {message} (422).")
        return str(data.get("sha", ""))

    @forge_errors_only("GitHub")
    def enable_auto_merge(self, pr: PullRequest, method: MergeMethod) -> None:
        """Let GitHub merge once its requirements are met (the repository must allow auto-merge)."""
        node = self._get(f"/pulls/{pr.number}", f"read pull request #{pr.number}")["node_id"]
        self._graphql(AUTO_MERGE, {"id": node, "method": method.upper()}, f"enable auto-merge on #{pr.number}")

    @forge_errors_only("GitHub")
    def delete_branch(self, branch: str) -> None:
        """Delete the merged branch on GitHub; one already gone is fine."""
        self._call("DELETE", f"/git/refs/heads/{branch}", f"delete the branch {branch}", allow=(404, 422))
