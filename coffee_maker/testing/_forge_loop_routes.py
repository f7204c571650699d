"""The fake's GitHub routes for the pull-request loop: check runs, commit statuses, job logs and
re-runs, review-comment replies, merge, branch deletion, and the GraphQL operations used
(``reviewThreads``, ``resolveReviewThread``, ``enablePullRequestAutoMerge``).

Shapes follow GitHub's REST reference (api.github.com, version 2022-11-28): a job log is a
302 to a short-lived download URL, a merge that cannot happen is 405, one whose ``sha`` is
not the head is 409; GraphQL answers 200 with ``errors`` when an operation fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from coffee_maker.testing._forge_ci import latest_runs, public, rerun
from coffee_maker.testing._forge_data import (
    ForgeHost,
    RecordedRequest,
    Reply,
    bad_request,
    payload_problem,
)

MERGE_DOCS = "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request"


def routes(fake: ForgeHost) -> list[tuple[str, re.Pattern[str], Callable[..., Reply]]]:
    loop = LoopRoutes(fake)
    return [
        ("GET", re.compile(r"/commits/([^/]+)/status"), loop.combined_status),
        ("GET", re.compile(r"/actions/jobs/(\d+)/logs"), loop.job_logs),
        ("POST", re.compile(r"/actions/jobs/(\d+)/rerun"), loop.rerun_job),
        ("POST", re.compile(r"/pulls/(\d+)/comments/(\d+)/replies"), loop.reply),
        ("PUT", re.compile(r"/pulls/(\d+)/merge"), loop.merge),
        ("DELETE", re.compile(r"/git/refs/heads/(.+)"), loop.delete_ref),
    ]


class LoopRoutes:
    def __init__(self, fake: ForgeHost) -> None:
        self.fake = fake

    def check_runs(self, request: RecordedRequest, sha: str) -> Reply:
        runs = self.fake.data.check_runs.get(sha, [])
        if request.query.get("filter", "latest") == "latest":
            runs = latest_runs(runs)
        return Reply(200, {"total_count": len(runs), "check_runs": [public(r) for r in runs]})

    def combined_status(self, request: RecordedRequest, sha: str) -> Reply:
        latest = {s["context"]: s for s in self.fake.data.statuses.get(sha, [])}  # newest per context
        states = [s["state"] for s in latest.values()]
        state = ("failure" if any(s in ("failure", "error") for s in states) else
                 "pending" if not states or "pending" in states else "success")
        return Reply(200, {"state": state, "statuses": list(latest.values()), "sha": sha,
                           "total_count": len(latest), "repository": {"full_name": f"{self.fake.owner}/{self.fake.repo}"}})

    def job_logs(self, request: RecordedRequest, job_id: int) -> Reply:
        if job_id not in self.fake.data.jobs:
            return Reply(404, {"message": "Not Found"})
        host = request.headers.get("host", f"127.0.0.1:{self.fake.port}")
        return Reply(302, None, {"Location": f"http://{host}/_downloads/job-logs/{job_id}?sig=fake"})

    def rerun_job(self, request: RecordedRequest, job_id: int) -> Reply:
        problem = payload_problem(request.json or {}, (), ("enable_debug_logging",))
        if problem:
            return bad_request(problem)
        run = self.fake.data.jobs.get(job_id)
        if run is None:
            return Reply(404, {"message": "Not Found"})
        if run["status"] != "completed":
            return Reply(403, {"message": "This job is already running."})  # GitHub refuses re-running a live job
        rerun(self.fake.data, job_id)
        return Reply(201, {})

    def reply(self, request: RecordedRequest, number: int, comment_id: int) -> Reply:
        problem = payload_problem(request.json, ("body",), ())
        if problem:
            return bad_request(problem)
        comments = self.fake.data.review_comments.get(number, [])
        parent = next((c for c in comments if c["id"] == comment_id), None)
        if parent is None:
            return Reply(404, {"message": "Not Found"})
        return Reply(201, self.fake.add_review_comment(number, request.json["body"], path=parent["path"],
                                                       line=parent["line"], user=self.fake.login,
                                                       in_reply_to=parent.get("in_reply_to_id") or comment_id))

    def merge(self, request: RecordedRequest, number: int) -> Reply:
        problem = payload_problem(request.json or {}, (), ("commit_title", "commit_message", "sha", "merge_method"))
        if problem:
            return bad_request(problem)
        payload, pr = request.json or {}, self.fake.data.pulls[number]
        method = payload.get("merge_method", "merge")
        if method not in ("merge", "squash", "rebase"):
            return Reply(422, {"message": "Validation Failed", "errors": [
                {"resource": "PullRequest", "field": "merge_method", "code": "invalid"}], "documentation_url": MERGE_DOCS})
        if method not in self.fake.merge_methods:
            return Reply(405, {"message": f"{method.title()} merges are not allowed on this repository.",
                               "documentation_url": MERGE_DOCS})
        if pr["state"] != "open" or pr.get("draft") or pr.get("mergeable") is False:
            return Reply(405, {"message": "Pull Request is not mergeable", "documentation_url": MERGE_DOCS})
        if payload.get("sha") and payload["sha"] != pr["head"]["sha"]:
            return Reply(409, {"message": "Head branch was modified. Review and try the merge again.",
                               "documentation_url": MERGE_DOCS})
        sha = self.fake.do_merge(number, method)
        return Reply(200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"})

    def delete_ref(self, request: RecordedRequest, branch: str) -> Reply:
        if branch in self.fake.data.deleted_branches or not any(
                p["head"]["ref"] == branch for p in self.fake.data.pulls.values()):
            return Reply(422, {"message": "Reference does not exist"}, expected=True)
        self.fake.data.deleted_branches.append(branch)
        return Reply(204, None)

    # ------------------------------------------------------------------ GraphQL

    def graphql(self, request: RecordedRequest) -> Reply:
        body = request.json if isinstance(request.json, dict) else {}
        query, variables = str(body.get("query", "")), body.get("variables") or {}
        if "reviewThreads" in query:
            return Reply(200, {"data": {"repository": {"pullRequest": {"reviewThreads": {"nodes": self._threads(
                int(variables.get("number", 0)))}}}}})
        if "resolveReviewThread" in query:
            return self._resolve(str(variables.get("id", "")))
        if "enablePullRequestAutoMerge" in query:
            return self._auto_merge(str(variables.get("id", "")), str(variables.get("method", "MERGE")))
        return Reply(200, {"errors": [{"message": "the fake serves reviewThreads, resolveReviewThread and "
                                                  "enablePullRequestAutoMerge only"}]})

    def _threads(self, number: int) -> list[dict[str, Any]]:
        roots = [c for c in self.fake.data.review_comments.get(number, []) if not c.get("in_reply_to_id")]
        return [{"id": f"PRRT_{c['id']}", "isResolved": c["id"] in self.fake.data.resolved,
                 "comments": {"nodes": [{"databaseId": c["id"]}]}} for c in roots]

    def _resolve(self, thread_id: str) -> Reply:
        root = int(thread_id.removeprefix("PRRT_")) if thread_id.removeprefix("PRRT_").isdigit() else -1
        if not any(c["id"] == root for cs in self.fake.data.review_comments.values() for c in cs):
            return Reply(200, {"data": {"resolveReviewThread": None}, "errors": [
                {"type": "NOT_FOUND", "path": ["resolveReviewThread"],
                 "message": f"Could not resolve to a node with the global id of '{thread_id}'"}]})
        self.fake.data.resolved.add(root)
        return Reply(200, {"data": {"resolveReviewThread": {"thread": {"id": thread_id, "isResolved": True}}}})

    def _auto_merge(self, node_id: str, method: str) -> Reply:
        number = next((n for n, p in self.fake.data.pulls.items() if p["node_id"] == node_id), None)
        if number is None:
            return Reply(200, {"data": {"enablePullRequestAutoMerge": None}, "errors": [
                {"type": "NOT_FOUND", "message": f"Could not resolve to a node with the global id of '{node_id}'"}]})
        if not self.fake.auto_merge_allowed:
            return Reply(200, {"data": {"enablePullRequestAutoMerge": None}, "errors": [
                {"type": "UNPROCESSABLE", "message": "Pull request Auto merge is not allowed for this repository"}]})
        self.fake.data.pulls[number]["auto_merge"] = {"merge_method": method.lower(),
                                                      "enabled_by": self.fake.data.user(self.fake.login)}
        return Reply(200, {"data": {"enablePullRequestAutoMerge": {"pullRequest": {
            "id": node_id, "autoMergeRequest": {"mergeMethod": method}}}}})
