"""The fake's GitLab routes for the pull-request loop (API v4): pipelines and their jobs, job traces
and retries, discussions (reply, resolve), approvals, merge, branch deletion.

They render the fake's GitHub-shaped records: a check run is a job of the commit's pipeline,
an inline review comment thread is a diff discussion (resolvable), any other comment an
individual note. Status codes as GitLab documents them: a merge that cannot happen is 405,
a ``sha`` that is not the source branch's head 409.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Protocol

from coffee_maker.testing._forge_ci import latest_runs, rerun
from coffee_maker.testing._forge_data import (
    ForgeHost,
    RecordedRequest,
    Reply,
    bad_request,
    payload_problem,
)

_JOB_STATUS = {"success": "success", "neutral": "success", "skipped": "skipped", "cancelled": "canceled",
               "failure": "failed", "timed_out": "failed", "startup_failure": "failed", "action_required": "manual"}


def disc_id(kind: str, cid: int) -> str:
    return hashlib.sha1(f"{kind}{cid}".encode()).hexdigest()  # GitLab's discussion ids are 40 hex digits


class MergeRequestRenderer(Protocol):
    """What these routes need of ``GitLabRoutes``: its fake, and how it renders users and merge requests."""

    fake: ForgeHost

    def author(self, login: str) -> dict[str, Any]: ...

    def render(self, pr: dict[str, Any]) -> dict[str, Any]: ...


class GitLabLoopRoutes:
    def __init__(self, routes: MergeRequestRenderer) -> None:
        self.routes, self.fake = routes, routes.fake

    def route(self, request: RecordedRequest, rest: str) -> Reply | None:
        """``rest`` is the path after ``/projects/{id}``; None: not one of these routes."""
        m, method = re.fullmatch, request.method
        if method == "GET" and rest == "/pipelines":
            return self.pipelines(request.query.get("sha", ""))
        if (match := m(r"/pipelines/(\d+)/jobs", rest)) and method == "GET":
            return self.jobs(int(match.group(1)))
        if (match := m(r"/jobs/(\d+)/trace", rest)) and method == "GET":
            job = self.fake.data.jobs.get(int(match.group(1)))
            if job is None:
                return Reply(404, {"message": "404 Job Not Found"})
            from coffee_maker.testing._forge_ci import log_chunks
            return Reply(200, None, stream=lambda: log_chunks(job["_log"]))
        if (match := m(r"/jobs/(\d+)/retry", rest)) and method == "POST":
            if int(match.group(1)) not in self.fake.data.jobs:
                return Reply(404, {"message": "404 Job Not Found"})
            return Reply(201, self.job(rerun(self.fake.data, int(match.group(1)))))
        if (match := m(r"/repository/branches/(.+)", rest)) and method == "DELETE":
            return self.delete_branch(match.group(1))
        match = m(r"/merge_requests/(\d+)/(discussions|approvals|merge)(?:/(\w+))?(/notes)?", rest)
        if not match:
            return None
        iid = int(match.group(1))
        if iid not in self.fake.data.pulls:
            return Reply(404, {"message": "404 Not found"})
        what, disc, notes = match.group(2), match.group(3), bool(match.group(4))
        if what == "discussions" and disc is None and method == "GET":
            return Reply(200, self.discussions(iid))
        if what == "discussions" and disc and notes and method == "POST":
            return self.add_note(request, iid, disc)
        if what == "discussions" and disc and not notes and method == "PUT":
            return self.resolve(request, iid, disc)
        if what == "approvals" and method == "GET":
            return Reply(200, self.approvals(iid))
        if what == "merge" and method == "PUT":
            return self.merge(request, iid)
        return Reply(404, {"message": "404 Not Found"})

    # ------------------------------------------------------------------ CI

    def pipeline_id(self, sha: str) -> int:
        return 7000 + sorted(self.fake.data.check_runs).index(sha)

    def pipeline(self, sha: str) -> dict[str, Any]:
        jobs = [self.job(r) for r in latest_runs(self.fake.data.check_runs[sha])]
        states = [j["status"] for j in jobs]
        status = ("running" if any(s in ("pending", "running") for s in states) else
                  "failed" if any(s == "failed" and not j["allow_failure"] for s, j in zip(states, jobs, strict=True))
                  else "canceled" if "canceled" in states else "success")
        pid = self.pipeline_id(sha)
        return {"id": pid, "iid": pid - 6999, "project_id": 1, "sha": sha, "ref": "", "status": status,
                "source": "merge_request_event", "web_url": f"https://gitlab.test/{self.fake.gitlab_project}/-/pipelines/{pid}"}

    def pipelines(self, sha: str) -> Reply:
        shas = [sha] if sha else list(self.fake.data.check_runs)
        return Reply(200, [self.pipeline(s) for s in shas if self.fake.data.check_runs.get(s)])

    def job(self, run: dict[str, Any]) -> dict[str, Any]:
        status = {"queued": "pending", "in_progress": "running"}.get(run["status"]) or _JOB_STATUS.get(
            str(run["conclusion"]), "failed")
        failed = status == "failed"
        reason = run["_failure_reason"] or ("job_execution_timeout" if run["conclusion"] == "timed_out"
                                            else "script_failure")
        return {"id": run["id"], "name": run["name"], "stage": "test", "status": status, "ref": "",
                "allow_failure": run["conclusion"] == "neutral", "created_at": run["started_at"],
                "started_at": run["started_at"], "finished_at": run["completed_at"],
                "web_url": f"https://gitlab.test/{self.fake.gitlab_project}/-/jobs/{run['id']}",
                "pipeline": {"id": self.pipeline_id(run["head_sha"]), "sha": run["head_sha"]},
                **({"failure_reason": reason} if failed else {})}

    def jobs(self, pid: int) -> Reply:
        for sha in self.fake.data.check_runs:
            if self.pipeline_id(sha) == pid:
                return Reply(200, [self.job(r) for r in latest_runs(self.fake.data.check_runs[sha])])
        return Reply(404, {"message": "404 Not found"})

    # ------------------------------------------------------------------ discussions, approvals

    def note(self, item: dict[str, Any], *, inline: bool, resolved: bool = False) -> dict[str, Any]:
        author = self.routes.author(item["user"]["login"])
        base = {"id": item["id"], "body": item["body"], "author": author, "system": bool(item.get("system")),
                "created_at": item.get("created_at") or item.get("submitted_at"), "noteable_type": "MergeRequest"}
        if not inline:
            return {**base, "type": None, "resolvable": False}
        return {**base, "type": "DiffNote", "resolvable": True, "resolved": resolved,
                "position": {"new_path": item["path"], "new_line": item["line"], "position_type": "text"}}

    def discussions(self, iid: int) -> list[dict[str, Any]]:
        data, out = self.fake.data, []
        inline = data.review_comments.get(iid, [])
        for root in (c for c in inline if not c.get("in_reply_to_id")):
            thread = [root, *(c for c in inline if c.get("in_reply_to_id") == root["id"])]
            out.append({"id": disc_id("diff", root["id"]), "individual_note": False,
                        "notes": [self.note(c, inline=True, resolved=root["id"] in data.resolved) for c in thread]})
        for r in data.reviews.get(iid, []):
            if r.get("body"):
                out.append({"id": disc_id("review", r["id"]), "individual_note": True,
                            "notes": [self.note(r, inline=False)]})
        for c in data.comments.get(iid, []):
            out.append({"id": disc_id("note", c["id"]), "individual_note": True, "notes": [self.note(c, inline=False)]})
        return out

    def _find(self, iid: int, disc: str) -> dict[str, Any] | None:
        return next((d for d in self.discussions(iid) if d["id"] == disc), None)

    def add_note(self, request: RecordedRequest, iid: int, disc: str) -> Reply:
        problem = payload_problem(request.json, ("body",), ("created_at",))
        if problem:
            return bad_request(problem)
        found = self._find(iid, disc)
        if found is None:
            return Reply(404, {"message": "404 Discussion Not Found"})
        first = found["notes"][0]
        if first["type"] == "DiffNote":
            note = self.fake.add_review_comment(iid, request.json["body"], path=first["position"]["new_path"],
                                                line=first["position"]["new_line"], user=self.fake.login,
                                                in_reply_to=first["id"])
            return Reply(201, self.note(note, inline=True))
        self.fake.comment(iid, request.json["body"], user=self.fake.login)
        return Reply(201, self.note(self.fake.data.comments[iid][-1], inline=False))

    def resolve(self, request: RecordedRequest, iid: int, disc: str) -> Reply:
        found = self._find(iid, disc)
        if found is None:
            return Reply(404, {"message": "404 Discussion Not Found"})
        if request.query.get("resolved") not in ("true", "false"):
            return bad_request("resolved is missing")
        if not found["notes"][0]["resolvable"]:
            return Reply(422, {"message": "Discussion is not resolvable"})
        root = found["notes"][0]["id"]
        (self.fake.data.resolved.add if request.query["resolved"] == "true" else self.fake.data.resolved.discard)(root)
        return Reply(200, self._find(iid, disc))

    def approvals(self, iid: int) -> dict[str, Any]:
        latest: dict[str, str] = {}
        for r in self.fake.data.reviews.get(iid, []):
            latest[r["user"]["login"]] = r["state"]
        by = [{"user": self.routes.author(who)} for who, state in latest.items() if state == "APPROVED"]
        return {"iid": iid, "approved": bool(by), "approvals_required": 0, "approved_by": by}

    # ------------------------------------------------------------------ merge

    def merge(self, request: RecordedRequest, iid: int) -> Reply:
        problem = payload_problem(request.json or {}, (), ("sha", "squash", "merge_when_pipeline_succeeds", "auto_merge",
                                                    "should_remove_source_branch", "merge_commit_message",
                                                    "squash_commit_message"))
        if problem:
            return bad_request(problem)
        payload, pr = request.json or {}, self.fake.data.pulls[iid]
        if pr["state"] != "open" or pr.get("draft"):
            return Reply(405, {"message": "405 Method Not Allowed"})
        if pr.get("mergeable") is False:  # the documented answer to a conflict
            return Reply(406, {"message": "406 Branch cannot be merged"})
        if payload.get("sha") and payload["sha"] != pr["head"]["sha"]:
            return Reply(409, {"message": "SHA does not match HEAD of source branch: " + pr["head"]["sha"]})
        runs = self.fake.data.check_runs.get(pr["head"]["sha"])
        running = bool(runs) and self.pipeline(pr["head"]["sha"])["status"] == "running"
        if payload.get("merge_when_pipeline_succeeds") and running:
            pr["auto_merge"] = {"merge_method": "squash" if payload.get("squash") else "merge"}
            return Reply(200, self.routes.render(pr))
        self.fake.do_merge(iid, "squash" if payload.get("squash") else "merge")
        return Reply(200, self.routes.render(pr))

    def delete_branch(self, branch: str) -> Reply:
        from urllib.parse import unquote

        name = unquote(branch)
        if name in self.fake.data.deleted_branches or not any(
                p["head"]["ref"] == name for p in self.fake.data.pulls.values()):
            return Reply(404, {"message": "404 Branch Not Found"}, expected=True)
        self.fake.data.deleted_branches.append(name)
        return Reply(204, None)
