"""The fake forge's GitLab routes: merge requests, notes, users and project members (API v4).

They render the fake's pull request records (kept in GitHub's shape, see ``_forge_routes``),
so one set of reviewer helpers on ``FakeForge`` drives both APIs. Every handler runs under
the fake's lock.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from coffee_maker.testing._forge_data import (
    ROLES,
    ForgeHost,
    RecordedRequest,
    Reply,
    bad_request,
    payload_problem,
)
from coffee_maker.testing._gitlab_loop_routes import GitLabLoopRoutes


class GitLabRoutes:
    """`/api/v4/projects/{url-encoded path}/merge_requests…` as gitlab.com answers it."""

    def __init__(self, fake: ForgeHost) -> None:
        self.fake = fake
        self.loop = GitLabLoopRoutes(self)

    def route(self, request: RecordedRequest, unquote: Callable[[str], str]) -> Reply:
        if request.headers.get("private-token") != self.fake.token:
            return Reply(401, {"message": "401 Unauthorized"})
        if request.method == "GET" and request.path == "/api/v4/user":
            return Reply(200, {**self.author(self.fake.login), "state": "active"})
        if request.method == "GET" and request.path == "/api/v4/users":
            login = request.query.get("username", "")
            return Reply(200, [self.author(login)] if login in self.fake.data.users else [])
        member = re.fullmatch(r"/api/v4/projects/([^/]+)/members/all/(\d+)", request.path)
        if member and request.method == "GET":
            return self.member(unquote(member.group(1)), int(member.group(2)))
        project = re.fullmatch(r"/api/v4/projects/([^/]+)", request.path)
        if project and request.method == "GET":
            if unquote(project.group(1)) != self.fake.gitlab_project:
                return Reply(404, {"message": "404 Project Not Found"}, expected=True)
            return Reply(200, {"id": 1, "path_with_namespace": self.fake.gitlab_project, "default_branch": "main"})
        inside = re.fullmatch(r"/api/v4/projects/([^/]+)(/.+)", request.path)
        if inside and unquote(inside.group(1)) == self.fake.gitlab_project and "/" not in inside.group(1):
            answer = self.loop.route(request, inside.group(2))
            if answer is not None:
                return answer
        match = re.fullmatch(r"/api/v4/projects/([^/]+)/merge_requests(?:/(\d+))?(/notes)?", request.path)
        if not match or unquote(match.group(1)) != self.fake.gitlab_project or "/" in match.group(1):
            return Reply(404, {"message": "404 Project Not Found"})
        iid = int(match.group(2)) if match.group(2) else None
        if iid is not None and iid not in self.fake.data.pulls:
            return Reply(404, {"message": "404 Not found"})
        key = (request.method, iid is not None, bool(match.group(3)))
        if key == ("GET", False, False):
            return self.list_mrs(request)
        if key == ("POST", False, False):
            return self.create(request)
        if key == ("GET", True, False) and iid is not None:
            return Reply(200, self.render(self.fake.data.pulls[iid]))
        if key == ("PUT", True, False) and iid is not None:
            return self.update(request, iid)
        if key == ("GET", True, True) and iid is not None:
            return Reply(200, self.notes(iid))
        if key == ("POST", True, True) and iid is not None:
            return self.add_note(request, iid)
        return Reply(404, {"message": "404 Not Found"})

    def author(self, login: str) -> dict[str, Any]:
        user = self.fake.data.user(login)
        return {"id": user["id"], "username": login, "name": login.title()}

    def member(self, project: str, uid: int) -> Reply:
        """`members/all/:id`: a collaborator's access level (Developer 30 may push); anyone else is not a member."""
        if project != self.fake.gitlab_project:
            return Reply(404, {"message": "404 Project Not Found"})
        login = next((name for name, i in self.fake.data.users.items() if i == uid), None)
        role = self.fake.data.collaborators.get(login or "")
        if login is None or role is None:
            return Reply(404, {"message": "404 Not found"}, expected=True)
        return Reply(200, {**self.author(login), "state": "active", "access_level": ROLES[role]})

    def reviewers(self, ids: Any) -> list[dict[str, str]] | None:
        """`reviewer_ids` → the reviewers, kept as GitHub's requested_reviewers (unknown ids are dropped, as GitLab does)."""
        if not isinstance(ids, list):
            return None
        return [{"login": name} for name, uid in self.fake.data.users.items() if uid in ids]

    def render(self, pr: dict[str, Any]) -> dict[str, Any]:
        state = "opened" if pr["state"] == "open" else "merged" if pr.get("merged") else "closed"
        reviews = self.fake.data.reviews.get(pr["number"], [])
        changes = bool(reviews) and reviews[-1]["state"] == "CHANGES_REQUESTED"
        return {"iid": pr["number"], "id": 1000 + pr["number"], "state": state, "title": pr["title"],
                "description": pr["body"], "draft": pr["draft"], "source_branch": pr["head"]["ref"],
                "target_branch": pr["base"]["ref"], "sha": pr["head"]["sha"],
                "web_url": f"https://gitlab.test/{self.fake.gitlab_project}/-/merge_requests/{pr['number']}",
                "labels": [label["name"] for label in pr["labels"]],
                "reviewers": [self.author(r["login"]) for r in pr["requested_reviewers"]],
                "detailed_merge_status": "requested_changes" if changes else "checking" if pr.get("mergeable") is None
                else "broken_status" if pr.get("mergeable") is False else "mergeable",
                "has_conflicts": pr.get("mergeable") is False, "merge_when_pipeline_succeeds": bool(pr.get("auto_merge")),
                "head_pipeline": self.pipeline(pr), "merged_at": pr.get("merged_at"),
                "created_at": pr["created_at"], "updated_at": pr["updated_at"]}

    def pipeline(self, pr: dict[str, Any]) -> dict[str, str] | None:
        runs = self.fake.data.check_runs.get(pr["head"]["sha"])
        if not runs:
            return None
        if any(r["status"] != "completed" for r in runs):
            return {"status": "running"}
        return {"status": "success" if all(r["conclusion"] == "success" for r in runs) else "failed"}

    def list_mrs(self, request: RecordedRequest) -> Reply:
        state = request.query.get("state", "all")
        branch = request.query.get("source_branch")
        out = [self.render(p) for p in sorted(self.fake.data.pulls.values(), key=lambda p: -int(p["number"]))
               if (not branch or p["head"]["ref"] == branch)]
        return Reply(200, [m for m in out if state == "all" or m["state"] == state])

    def create(self, request: RecordedRequest) -> Reply:
        problem = payload_problem(request.json, ("source_branch", "target_branch", "title"),
                           ("description", "labels", "reviewer_ids", "remove_source_branch", "draft", "squash"))
        if problem:
            return bad_request(problem)
        payload = request.json
        for pr in self.fake.data.pulls.values():
            if pr["head"]["ref"] == payload["source_branch"] and pr["state"] == "open":
                return Reply(409, {"message": [
                    f"Another open merge request already exists for this source branch: !{pr['number']}"]})
        number = next(self.fake.data.numbers)
        now = self.fake.data.now()
        labels = payload.get("labels") or []
        labels = [x for x in labels.split(",") if x] if isinstance(labels, str) else labels
        title = payload["title"]
        self.fake.data.pulls[number] = {
            "number": number, "state": "open", "title": title, "body": payload.get("description"),
            "draft": bool(payload.get("draft")) or title.startswith("Draft:"), "merged": False, "merged_at": None,
            "head": {"ref": payload["source_branch"], "label": payload["source_branch"],
                     "sha": hashlib.sha1(f"{payload['source_branch']}{number}".encode()).hexdigest()},
            "base": {"ref": payload["target_branch"]}, "labels": [{"name": x} for x in labels],
            "requested_reviewers": self.reviewers(payload.get("reviewer_ids")) or [],
            "user": self.fake.data.user(self.fake.login), "created_at": now, "updated_at": now,
            "node_id": f"PR_kwDO{number:06d}", "mergeable": True, "auto_merge": None}
        return Reply(201, self.render(self.fake.data.pulls[number]))

    def update(self, request: RecordedRequest, iid: int) -> Reply:
        problem = payload_problem(request.json, (), ("title", "description", "labels", "target_branch", "state_event",
                                              "reviewer_ids", "add_labels", "draft"))
        if problem:
            return bad_request(problem)
        pr = self.fake.data.pulls[iid]
        if "title" in request.json:  # GitLab: the title's "Draft:" prefix is what makes an MR a draft
            pr["title"] = request.json["title"]
            pr["draft"] = request.json["title"].startswith(("Draft:", "[Draft]", "(Draft)"))
        if "draft" in request.json:
            pr["draft"] = bool(request.json["draft"])
        reviewers = self.reviewers(request.json.get("reviewer_ids"))
        if reviewers is not None:
            pr["requested_reviewers"] = reviewers
        for key in ("labels", "add_labels"):
            if key in request.json:
                value = request.json[key]
                names = [x for x in value.split(",") if x] if isinstance(value, str) else list(value)
                old = [label["name"] for label in pr["labels"]] if key == "add_labels" else []
                pr["labels"] = [{"name": n} for n in dict.fromkeys(old + names)]
        if "description" in request.json:
            pr["body"] = request.json["description"]
        if "target_branch" in request.json:  # retargeting, as a stacked MR's parent merges
            pr["base"] = {"ref": request.json["target_branch"]}
        pr["updated_at"] = self.fake.data.now()
        return Reply(200, self.render(pr))

    def notes(self, iid: int) -> list[dict[str, Any]]:
        data = self.fake.data
        out: list[dict[str, Any]] = []
        for r in data.reviews.get(iid, []):
            if r.get("body"):
                out.append({"body": r["body"], "author": self.author(r["user"]["login"]),
                            "created_at": r["submitted_at"], "system": False})
        for c in data.review_comments.get(iid, []):
            out.append({"body": c["body"], "author": self.author(c["user"]["login"]), "created_at": c["created_at"],
                        "system": False, "type": "DiffNote",
                        "position": {"new_path": c["path"], "new_line": c["line"]}})
        for c in data.comments.get(iid, []):
            out.append({"body": c["body"], "author": self.author(c["user"]["login"]), "created_at": c["created_at"],
                        "system": bool(c.get("system"))})
        out.sort(key=lambda n: str(n["created_at"]))
        return [{"id": i, **n} for i, n in enumerate(out, 1)]

    def add_note(self, request: RecordedRequest, iid: int) -> Reply:
        problem = payload_problem(request.json, ("body",), ())
        if problem:
            return bad_request(problem)
        items = self.fake.data.comments.setdefault(iid, [])
        note = {"id": len(items) + 1, "user": self.fake.data.user(self.fake.login), "body": request.json["body"],
                "created_at": self.fake.data.now()}
        items.append(note)
        return Reply(201, {"id": note["id"], "body": note["body"], "author": self.author(self.fake.login),
                           "created_at": note["created_at"], "system": False})
