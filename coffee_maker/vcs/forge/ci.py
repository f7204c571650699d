"""One commit's CI, whatever the forge: the overall state from its checks, and the failing job's log cut.

Red as soon as one check failed (the agent can start while slow checks still run), pending
while any check runs, green when all finished well, none when nothing reports at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from coffee_maker.types import CheckConclusion, CheckRun, CheckStatus, CiReport, CiState, LogExcerpt
from coffee_maker.vcs.forge.cut_log import cut_log, iter_lines

# GitLab job states → (status, conclusion) in GitHub's words.
GITLAB_JOB_STATES: dict[str, tuple[CheckStatus, CheckConclusion | None]] = {
    "created": (CheckStatus.QUEUED, None), "waiting_for_resource": (CheckStatus.QUEUED, None),
    "preparing": (CheckStatus.QUEUED, None), "pending": (CheckStatus.QUEUED, None),
    "scheduled": (CheckStatus.QUEUED, None), "running": (CheckStatus.IN_PROGRESS, None),
    "success": (CheckStatus.COMPLETED, CheckConclusion.SUCCESS),
    "failed": (CheckStatus.COMPLETED, CheckConclusion.FAILURE),
    "canceled": (CheckStatus.COMPLETED, CheckConclusion.CANCELLED),
    "canceling": (CheckStatus.IN_PROGRESS, None),
    "skipped": (CheckStatus.COMPLETED, CheckConclusion.SKIPPED),
    "manual": (CheckStatus.COMPLETED, CheckConclusion.ACTION_REQUIRED),
}
# A commit status (GitHub's older API, used by external CI) → (status, conclusion).
COMMIT_STATES: dict[str, tuple[CheckStatus, CheckConclusion | None]] = {
    "pending": (CheckStatus.IN_PROGRESS, None), "success": (CheckStatus.COMPLETED, CheckConclusion.SUCCESS),
    "failure": (CheckStatus.COMPLETED, CheckConclusion.FAILURE), "error": (CheckStatus.COMPLETED, CheckConclusion.FAILURE),
}


def report(sha: str, checks: Iterable[CheckRun], *, reason: str = "") -> CiReport:
    runs = tuple(checks)
    if not runs:
        return CiReport(sha, CiState.NONE, (), reason or f"no CI check reports on {sha[:12]} (yet)")
    if any(c.failed for c in runs):
        state = CiState.RED
    elif any(c.status is not CheckStatus.COMPLETED for c in runs):
        state = CiState.PENDING
    else:
        state = CiState.GREEN
    return CiReport(sha, state, runs)


def excerpt_of(chunks: Iterator[bytes], check: CheckRun) -> LogExcerpt:
    """The job log, read chunk by chunk and cut (never held whole)."""
    return cut_log(iter_lines(chunks), url=check.url)


def no_log(check: CheckRun, why: str) -> LogExcerpt:
    return LogExcerpt(step=None, excerpt=f"({why}; open {check.url or 'the check on the forge'} for details)",
                      url=check.url, truncated=False)
