"""The fake forge's CI and merge state, and the helpers a test uses to play CI and the reviewer.

Check runs are kept in GitHub's shape (``id`` is also the Actions job id); the GitLab routes
render the same records as pipeline jobs. Keys starting with ``_`` are the fake's own
(the log, what a re-run will conclude) and never rendered.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from coffee_maker.testing._forge_data import ForgeData

LogSource = str | Callable[[], Iterator[bytes]]  # a text, or a factory of chunks (a log too big to hold)


class CiHelpers:
    """Mixed into ``FakeForge``: CI, statuses, heads and mergeability as a test sets them."""

    data: ForgeData
    lock: threading.RLock
    owner: str
    repo: str

    def _sha_of(self, pr_or_sha: int | str) -> str:
        return self.data.pulls[pr_or_sha]["head"]["sha"] if isinstance(pr_or_sha, int) else pr_or_sha

    def add_check(self, pr_or_sha: int | str, name: str, status: str = "completed", conclusion: str | None = "success",
                  *, log: LogSource = "", rerun: str | None = None, failure_reason: str = "",
                  app: str = "github-actions") -> int:
        """A check run (an Actions job) on the PR's head commit or a sha; its id. ``rerun`` is the conclusion
        a re-run of it will have (default: the same as this one)."""
        with self.lock:
            sha = self._sha_of(pr_or_sha)
            job_id = next(self.data.ids)
            run_id = 9000 + job_id
            run = {"id": job_id, "name": name, "head_sha": sha, "status": status,
                   "conclusion": conclusion if status == "completed" else None,
                   "html_url": f"https://github.test/{self.owner}/{self.repo}/actions/runs/{run_id}/job/{job_id}",
                   "details_url": f"https://github.test/{self.owner}/{self.repo}/actions/runs/{run_id}/job/{job_id}",
                   "started_at": self.data.now(), "completed_at": self.data.now() if status == "completed" else None,
                   "output": {"title": None, "summary": None}, "check_suite": {"id": run_id},
                   "app": {"slug": app, "name": app.replace("-", " ").title()},
                   "_log": log, "_rerun": rerun or conclusion, "_failure_reason": failure_reason}
            self.data.check_runs.setdefault(sha, []).append(run)
            self.data.jobs[job_id] = run
            return job_id

    def set_checks(self, number: int, *runs: tuple[str, str | None]) -> None:
        """CI check runs on the PR's head commit, as (status, conclusion) pairs."""
        with self.lock:
            self.data.check_runs[self.data.pulls[number]["head"]["sha"]] = []
            for i, (status, conclusion) in enumerate(runs, 1):
                self.add_check(number, f"check-{i}", status, conclusion)

    def finish_check(self, job_id: int, conclusion: str, *, log: LogSource | None = None) -> None:
        """A running check completes."""
        with self.lock:
            run = self.data.jobs[job_id]
            run.update(status="completed", conclusion=conclusion, completed_at=self.data.now())
            if log is not None:
                run["_log"] = log

    def add_status(self, pr_or_sha: int | str, context: str, state: str, *, target_url: str = "",
                   description: str = "") -> None:
        """A commit status (pending, success, failure, error), as an external CI posts it."""
        with self.lock:
            sha = self._sha_of(pr_or_sha)
            self.data.statuses.setdefault(sha, []).append({
                "id": next(self.data.ids), "context": context, "state": state, "description": description,
                "target_url": target_url or f"https://ci.test/{context}", "created_at": self.data.now(),
                "updated_at": self.data.now()})

    def set_head(self, number: int, sha: str) -> None:
        """A push to the PR's branch."""
        with self.lock:
            self.data.pulls[number]["head"]["sha"] = sha

    def set_mergeable(self, number: int, mergeable: bool | None) -> None:
        """What the forge computed (None: still computing)."""
        with self.lock:
            self.data.pulls[number]["mergeable"] = mergeable

    def set_draft(self, number: int, draft: bool) -> None:
        with self.lock:
            self.data.pulls[number]["draft"] = draft


def latest_runs(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest run per name (what `filter=latest` and GitLab's job list without retried jobs show)."""
    newest: dict[str, dict[str, Any]] = {}
    for run in runs:
        newest[run["name"]] = run
    return list(newest.values())


def public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


def log_chunks(source: LogSource) -> Iterator[bytes]:
    if callable(source):
        yield from source()
    else:
        yield source.encode()


def rerun(data: ForgeData, job_id: int) -> dict[str, Any]:
    """A re-run: a new job with a new id and the same name, concluding as the old one said it would."""
    old = data.jobs[job_id]
    new_id = next(data.ids)
    new = {**old, "id": new_id, "status": "completed", "conclusion": old["_rerun"], "started_at": data.now(),
           "completed_at": data.now(), "_failure_reason": "" if old["_rerun"] == "success" else old["_failure_reason"],
           "html_url": old["html_url"].rsplit("/", 1)[0] + f"/{new_id}",
           "details_url": old["details_url"].rsplit("/", 1)[0] + f"/{new_id}",
           "_log": "" if old["_rerun"] == "success" else old["_log"]}
    data.check_runs[old["head_sha"]].append(new)
    data.jobs[new_id] = new
    data.reruns.append(job_id)
    return new
