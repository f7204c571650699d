"""GitLab's side of the pull-request loop: pipelines and jobs, job traces, discussions, approvals, merge.

CI of a commit is its newest pipeline's jobs (retried jobs hidden, as GitLab lists them); a
job allowed to fail that failed is "neutral" (GitLab's "passed with warnings"). Review threads
are discussions; a diff discussion is resolvable, an individual note is not.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal
from urllib.parse import quote

import httpx

from coffee_maker.errors import ForgeError
from coffee_maker.types import (
    CheckConclusion,
    CheckRun,
    CheckStatus,
    CiReport,
    LogExcerpt,
    PullRequest,
    ReviewThread,
)
from coffee_maker.vcs.forge import ci
from coffee_maker.vcs.forge._polling import Poller
from coffee_maker.vcs.forge.errors import forge_errors_only
from coffee_maker.vcs.forge.trust import ReviewerTrust

MergeMethod = Literal["merge", "squash", "rebase"]
_CHUNK = 64 * 1024


class GitLabLoop:
    project: str
    client: httpx.Client
    poller: Poller
    trust: ReviewerTrust

    def _call(self, method: str, path: str, what: str, *, allow: Sequence[int] = (), in_project: bool = True,
              **kwargs: Any) -> tuple[int, Any]:
        raise NotImplementedError  # GitLabForge's transport

    def _user_ids(self, usernames: Sequence[str]) -> list[int]:
        raise NotImplementedError

    # ------------------------------------------------------------------ CI

    @forge_errors_only("GitLab")
    def checks(self, pr_or_sha: PullRequest | str) -> CiReport:
        """The jobs of the newest pipeline on the commit (the MR's head)."""
        sha = pr_or_sha if isinstance(pr_or_sha, str) else pr_or_sha.head_sha or self._head_sha(pr_or_sha.number)
        _, pipelines = self._call("GET", "/pipelines", "read pipelines",
                                  params={"sha": sha, "order_by": "id", "sort": "desc", "per_page": "1"})
        if not pipelines:
            return ci.report(sha, [], reason=f"no pipeline on {sha[:12]} (yet)")
        _, jobs = self._call("GET", f"/pipelines/{pipelines[0]['id']}/jobs", "read pipeline jobs",
                             params={"per_page": "100"})
        return ci.report(sha, [_job(j) for j in jobs])

    def _head_sha(self, number: int) -> str:
        return str(self._call("GET", f"/merge_requests/{number}", f"read merge request !{number}")[1]["sha"])

    def failure_log(self, check: CheckRun) -> LogExcerpt:
        """The job's trace, streamed and cut to the failing section and the lines that matter."""
        if check.job_id is None:
            return ci.no_log(check, f"{check.name} has no job on GitLab")
        return ci.excerpt_of(self._trace(check), check)

    def _trace(self, check: CheckRun) -> Iterator[bytes]:
        try:
            with self.client.stream("GET", f"/projects/{self.project}/jobs/{check.job_id}/trace") as response:
                self.poller.stats.requests += 1
                if response.status_code != 200:
                    raise ForgeError(f"GitLab could not read the trace of {check.name}: {response.status_code}.")
                yield from response.iter_bytes(_CHUNK)
        except httpx.HTTPError as exc:
            raise ForgeError(f"GitLab could not read the trace of {check.name} ({type(exc).__name__}).") from None

    @forge_errors_only("GitLab")
    def rerun(self, check: CheckRun) -> None:
        """Retry the job (GitLab makes a new job; the pipeline's job list then shows it instead)."""
        if check.job_id is None:
            raise ForgeError(f"{check.name} has no job on GitLab to retry.")
        self._call("POST", f"/jobs/{check.job_id}/retry", f"retry {check.name}")

    # ------------------------------------------------------------------ review threads

    @forge_errors_only("GitLab")
    def review_threads(self, pr: PullRequest) -> list[ReviewThread]:
        """Discussions started by people allowed to review, oldest first (system notes left out)."""
        _, discussions = self._call("GET", f"/merge_requests/{pr.number}/discussions", "read discussions",
                                    params={"per_page": "100"})
        threads = []
        for d in discussions:
            notes = [n for n in d.get("notes") or [] if not n.get("system")]
            if not notes:
                continue
            first, position = notes[0], notes[0].get("position") or {}
            threads.append(ReviewThread(
                id=str(d["id"]), author=str(first["author"]["username"]), body=str(first["body"]),
                path=position.get("new_path"), line=position.get("new_line"), resolved=bool(first.get("resolved")),
                comment_id=int(first["id"]), pr_number=pr.number, replies=len(notes) - 1))
        return self.trust.allowed(threads)

    @forge_errors_only("GitLab")
    def reply(self, thread: ReviewThread, body: str) -> None:
        self._call("POST", f"/merge_requests/{thread.pr_number}/discussions/{thread.id}/notes",
                   "reply in the discussion", json={"body": body})

    @forge_errors_only("GitLab")
    def resolve(self, thread: ReviewThread) -> bool:
        """Resolve a diff discussion; False for a plain comment, which GitLab cannot resolve."""
        if not thread.inline:
            return False
        _, data = self._call("PUT", f"/merge_requests/{thread.pr_number}/discussions/{thread.id}",
                             "resolve the discussion", params={"resolved": "true"})
        return all(bool(n.get("resolved")) for n in data.get("notes", []) if n.get("resolvable"))

    @forge_errors_only("GitLab")
    def request_review(self, pr: PullRequest, reviewers: Sequence[str]) -> None:
        ids = self._user_ids(reviewers)
        if ids:
            self._call("PUT", f"/merge_requests/{pr.number}", "request reviewers", json={"reviewer_ids": ids})

    def approved(self, pr: PullRequest) -> bool:
        """Someone allowed to review approved the merge request."""
        _, data = self._call("GET", f"/merge_requests/{pr.number}/approvals", "read approvals")
        return any(self.trust.trusts(str(a["user"]["username"])) for a in data.get("approved_by") or [])

    # ------------------------------------------------------------------ merge

    @forge_errors_only("GitLab")
    def merge(self, pr: PullRequest, method: MergeMethod) -> str:
        """Merge (``squash`` squashes; GitLab's merge-commit or fast-forward choice is the project's)."""
        return self._merge(pr, method, auto=False)

    @forge_errors_only("GitLab")
    def enable_auto_merge(self, pr: PullRequest, method: MergeMethod) -> None:
        """Merge when the pipeline succeeds."""
        self._merge(pr, method, auto=True)

    def _merge(self, pr: PullRequest, method: MergeMethod, *, auto: bool) -> str:
        if method == "rebase":
            raise ForgeError("GitLab sets rebase or merge commits per project (Settings → Merge requests); "
                             "use [forge] merge = \"merge\" or \"squash\".")
        payload: dict[str, Any] = {"squash": method == "squash", **({"sha": pr.head_sha} if pr.head_sha else {}),
                                   **({"merge_when_pipeline_succeeds": True} if auto else {})}
        status, data = self._call("PUT", f"/merge_requests/{pr.number}/merge", f"merge !{pr.number}", json=payload,
                                  allow=(405, 406, 409, 422))
        message = data.get("message", "") if isinstance(data, dict) else ""
        if status == 409:
            raise ForgeError(f"GitLab did not merge !{pr.number}: its head moved since it was checked (409: "
                             f"{message}); it is checked again on the next poll.")
        if status in (405, 406, 422):
            raise ForgeError(f"GitLab will not merge !{pr.number}: {message or 'not mergeable'} ({status}: a draft, "
                             "a conflict, an unfinished pipeline, missing approvals or a protected branch).")
        return str(data.get("merge_commit_sha") or data.get("squash_commit_sha") or "")

    @forge_errors_only("GitLab")
    def delete_branch(self, branch: str) -> None:
        """Delete the merged branch; one already gone is fine."""
        self._call("DELETE", f"/repository/branches/{quote(branch, safe='')}", f"delete the branch {branch}",
                   allow=(404,))


def _job(data: dict[str, Any]) -> CheckRun:
    status, conclusion = ci.GITLAB_JOB_STATES.get(str(data["status"]), (CheckStatus.QUEUED, None))
    if conclusion is CheckConclusion.FAILURE and data.get("allow_failure"):
        conclusion = CheckConclusion.NEUTRAL
    return CheckRun(name=str(data["name"]), status=status, conclusion=conclusion, url=str(data.get("web_url") or ""),
                    job_id=int(data["id"]), failure_reason=str(data.get("failure_reason") or ""))
