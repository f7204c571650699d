"""GitHub CI: check runs and commit statuses of a commit, an Actions job's log, a job's re-run.

A check run made by GitHub Actions has the job's id as its own id, which is what the
job-log and re-run endpoints take; checks by other apps and commit statuses have no log
on GitHub (the check's URL leads to the external CI).
"""

from __future__ import annotations

from typing import Any

from coffee_maker.errors import ForgeError
from coffee_maker.types import (
    CheckConclusion,
    CheckRun,
    CheckStatus,
    CiReport,
    LogExcerpt,
    PullRequest,
)
from coffee_maker.vcs.forge import ci
from coffee_maker.vcs.forge._github_api import GitHubApi
from coffee_maker.vcs.forge.errors import forge_errors_only

ACTIONS_APP = "github-actions"


class GitHubCi(GitHubApi):
    @forge_errors_only("GitHub")
    def checks(self, pr_or_sha: PullRequest | str) -> CiReport:
        """Every check on the commit (the PR's head): check runs (latest per name) and commit statuses."""
        sha = pr_or_sha if isinstance(pr_or_sha, str) else pr_or_sha.head_sha or self._head_sha(pr_or_sha.number)
        runs = self._get(f"/commits/{sha}/check-runs", "read CI check runs", {"per_page": "100"})
        combined = self._get(f"/commits/{sha}/status", "read commit statuses", {"per_page": "100"})
        checks = [_check_run(r) for r in runs.get("check_runs", [])]
        checks += [_status(s) for s in combined.get("statuses", [])]
        return ci.report(sha, checks)

    def _head_sha(self, number: int) -> str:
        return str(self._get(f"/pulls/{number}", f"read pull request #{number}")["head"]["sha"])

    def failure_log(self, check: CheckRun) -> LogExcerpt:
        """The failing Actions job's log, streamed and cut to the failing step and the lines that matter."""
        if check.job_id is None:
            return ci.no_log(check, f"{check.name} is reported by an external CI; GitHub has no log of it")
        return ci.excerpt_of(self._stream(f"/actions/jobs/{check.job_id}/logs", f"download the log of {check.name}"),
                             check)

    def rerun(self, check: CheckRun) -> None:
        """Re-run the job on the same commit (a new check run with the same name reports the result)."""
        if check.job_id is None:
            raise ForgeError(f"{check.name} is not a GitHub Actions job; re-run it where it runs ({check.url}).")
        self._call("POST", f"/actions/jobs/{check.job_id}/rerun", f"re-run {check.name}", payload={})


def _check_run(data: dict[str, Any]) -> CheckRun:
    conclusion = data.get("conclusion")
    actions = (data.get("app") or {}).get("slug") == ACTIONS_APP
    return CheckRun(name=str(data["name"]), status=CheckStatus(data["status"]) if data["status"] in
                    CheckStatus._value2member_map_ else CheckStatus.QUEUED,  # waiting / requested / pending: queued
                    conclusion=CheckConclusion(conclusion) if conclusion else None,
                    url=str(data.get("details_url") or data.get("html_url") or ""),
                    job_id=int(data["id"]) if actions else None)


def _status(data: dict[str, Any]) -> CheckRun:
    status, conclusion = ci.COMMIT_STATES.get(str(data["state"]), (CheckStatus.IN_PROGRESS, None))
    return CheckRun(name=str(data["context"]), status=status, conclusion=conclusion,
                    url=str(data.get("target_url") or ""), failure_reason=str(data.get("description") or ""))

