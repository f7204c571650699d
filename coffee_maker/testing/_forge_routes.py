"""The fake forge's routes: GitHub REST (pulls, reviews, comments, check-runs) and GitLab merge requests.

Both render the same internal pull request records (kept in GitHub's shape), so a
test can drive either API through one set of reviewer helpers on ``FakeForge``.
Every handler runs under the fake's lock.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from coffee_maker.testing.fake_forge import FakeForge, RecordedRequest


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any


def _bad(message: str) -> Reply:
    return Reply(400, {"message": message})


def _missing(payload: Any, required: tuple[str, ...], allowed: tuple[str, ...]) -> str | None:
    if not isinstance(payload, dict):
        return "a JSON object body is required"
    absent = [k for k in required if not isinstance(payload.get(k), str) or not payload[k]]
    unknown = sorted(set(payload) - set(required) - set(allowed))
    if absent:
        return f"missing fields: {', '.join(absent)}"
    return f"unknown fields: {', '.join(unknown)}" if unknown else None


class GitHubRoutes:
    """`/repos/{owner}/{repo}/…` as api.github.com answers it (the parts coffee-maker uses)."""

    def __init__(self, fake: FakeForge) -> None:
        self.fake = fake
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Reply]]] = [
            ("GET", re.compile(r"/pulls"), self.list_pulls),
            ("POST", re.compile(r"/pulls"), self.create_pull),
            ("GET", re.compile(r"/pulls/(\d+)"), self.get_pull),
            ("PATCH", re.compile(r"/pulls/(\d+)"), self.update_pull),
            ("GET", re.compile(r"/pulls/(\d+)/reviews"), self.list_reviews),
            ("GET", re.compile(r"/pulls/(\d+)/comments"), self.list_review_comments),
            ("POST", re.compile(r"/pulls/(\d+)/requested_reviewers"), self.request_reviewers),
            ("POST", re.compile(r"/issues/(\d+)/labels"), self.add_labels),
            ("GET", re.compile(r"/issues/(\d+)/comments"), self.list_comments),
            ("POST", re.compile(r"/issues/(\d+)/comments"), self.add_comment),
            ("GET", re.compile(r"/commits/([^/]+)/check-runs"), self.check_runs),
        ]

    def route(self, request: RecordedRequest) -> Reply:
        h = request.headers
        if h.get("authorization") not in (f"Bearer {self.fake.token}", f"token {self.fake.token}"):
            return Reply(401, {"message": "Bad credentials"})
        if h.get("accept") != "application/vnd.github+json":
            return _bad(f"Accept must be application/vnd.github+json, got {h.get('accept')!r}")
        if h.get("x-github-api-version") != "2022-11-28":
            return _bad(f"X-GitHub-Api-Version must be 2022-11-28, got {h.get('x-github-api-version')!r}")
        prefix = f"/repos/{self.fake.owner}/{self.fake.repo}"
        if not request.path.startswith(prefix + "/"):
            return Reply(404, {"message": "Not Found"})
        rest = request.path[len(prefix):]
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(rest)
            if match and method == request.method:
                args = [int(g) if g.isdigit() else g for g in match.groups()]
                if args and isinstance(args[0], int) and args[0] not in self.fake.data.pulls:
                    return Reply(404, {"message": "Not Found"})
                return handler(request, *args)
        return Reply(404, {"message": f"Not Found: {request.method} {request.path}"})

    # ------------------------------------------------------------------ pulls

    def render(self, pr: dict[str, Any]) -> dict[str, Any]:
        return dict(pr)

    def list_pulls(self, request: RecordedRequest) -> Reply:
        state = request.query.get("state", "open")
        head = request.query.get("head")
        out = []
        for pr in sorted(self.fake.data.pulls.values(), key=lambda p: -int(p["number"])):
            if head and pr["head"]["label"] != head:
                continue
            if state != "all" and pr["state"] != state:
                continue
            out.append(self.render(pr))
        return Reply(200, out)

    def create_pull(self, request: RecordedRequest) -> Reply:
        problem = _missing(request.json, ("title", "head", "base"),
                           ("body", "draft", "maintainer_can_modify", "head_repo", "issue"))
        if problem:
            return _bad(problem)
        payload = request.json
        branch = payload["head"].split(":", 1)[-1]
        label = f"{self.fake.owner}:{branch}"
        for pr in self.fake.data.pulls.values():
            if pr["head"]["label"] == label and pr["base"]["ref"] == payload["base"] and pr["state"] == "open":
                return Reply(422, {"message": "Validation Failed", "errors": [
                    {"resource": "PullRequest", "code": "custom",
                     "message": f"A pull request already exists for {label}."}],
                    "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
                    "status": "422"})
        number = next(self.fake.data.numbers)
        now = self.fake.data.now()
        pr = {"number": number, "state": "open", "title": payload["title"], "body": payload.get("body"),
              "draft": bool(payload.get("draft", False)), "merged": False, "merged_at": None,
              "html_url": f"https://github.test/{self.fake.owner}/{self.fake.repo}/pull/{number}",
              "head": {"ref": branch, "label": label,
                       "sha": hashlib.sha1(f"{branch}{number}".encode()).hexdigest()},
              "base": {"ref": payload["base"]}, "labels": [], "requested_reviewers": [],
              "user": {"login": "coffee-maker"}, "created_at": now, "updated_at": now}
        self.fake.data.pulls[number] = pr
        return Reply(201, self.render(pr))

    def get_pull(self, request: RecordedRequest, number: int) -> Reply:
        return Reply(200, self.render(self.fake.data.pulls[number]))

    def update_pull(self, request: RecordedRequest, number: int) -> Reply:
        problem = _missing(request.json, (), ("title", "body", "state", "base", "maintainer_can_modify"))
        if problem:
            return _bad(problem)
        pr = self.fake.data.pulls[number]
        for key in ("title", "body", "state"):
            if key in request.json:
                pr[key] = request.json[key]
        if "base" in request.json:
            pr["base"] = {"ref": request.json["base"]}
        pr["updated_at"] = self.fake.data.now()
        return Reply(200, self.render(pr))

    def request_reviewers(self, request: RecordedRequest, number: int) -> Reply:
        problem = _missing(request.json, (), ("reviewers", "team_reviewers"))
        if problem:
            return _bad(problem)
        pr = self.fake.data.pulls[number]
        pr["requested_reviewers"] = [{"login": r} for r in request.json.get("reviewers", [])]
        return Reply(201, self.render(pr))

    def add_labels(self, request: RecordedRequest, number: int) -> Reply:
        problem = _missing(request.json, (), ("labels",))
        if problem or not isinstance(request.json.get("labels"), list):
            return _bad(problem or "labels must be a list")
        pr = self.fake.data.pulls[number]
        names = [label["name"] for label in pr["labels"]]
        pr["labels"] = [{"name": n} for n in dict.fromkeys(names + request.json["labels"])]
        return Reply(200, pr["labels"])

    # ------------------------------------------------------------------ reviews, comments, checks

    def list_reviews(self, request: RecordedRequest, number: int) -> Reply:
        return Reply(200, self.fake.data.reviews.get(number, []))

    def list_review_comments(self, request: RecordedRequest, number: int) -> Reply:
        return Reply(200, self.fake.data.review_comments.get(number, []))

    def list_comments(self, request: RecordedRequest, number: int) -> Reply:
        return Reply(200, [c for c in self.fake.data.comments.get(number, []) if not c.get("system")])

    def add_comment(self, request: RecordedRequest, number: int) -> Reply:
        problem = _missing(request.json, ("body",), ())
        if problem:
            return _bad(problem)
        items = self.fake.data.comments.setdefault(number, [])
        comment = {"id": len(items) + 1, "user": {"login": "coffee-maker"}, "body": request.json["body"],
                   "created_at": self.fake.data.now()}
        items.append(comment)
        return Reply(201, comment)

    def check_runs(self, request: RecordedRequest, sha: str) -> Reply:
        runs = self.fake.data.check_runs.get(sha, [])
        return Reply(200, {"total_count": len(runs), "check_runs": runs})


class GitLabRoutes:
    """`/api/v4/projects/{url-encoded path}/merge_requests…` as gitlab.com answers it."""

    def __init__(self, fake: FakeForge) -> None:
        self.fake = fake

    def route(self, request: RecordedRequest, unquote: Callable[[str], str]) -> Reply:
        if request.headers.get("private-token") != self.fake.token:
            return Reply(401, {"message": "401 Unauthorized"})
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

    def render(self, pr: dict[str, Any]) -> dict[str, Any]:
        state = "opened" if pr["state"] == "open" else "merged" if pr.get("merged") else "closed"
        reviews = self.fake.data.reviews.get(pr["number"], [])
        changes = bool(reviews) and reviews[-1]["state"] == "CHANGES_REQUESTED"
        return {"iid": pr["number"], "id": 1000 + pr["number"], "state": state, "title": pr["title"],
                "description": pr["body"], "draft": pr["draft"], "source_branch": pr["head"]["ref"],
                "target_branch": pr["base"]["ref"], "sha": pr["head"]["sha"],
                "web_url": f"https://gitlab.test/{self.fake.gitlab_project}/-/merge_requests/{pr['number']}",
                "labels": [label["name"] for label in pr["labels"]],
                "reviewers": [{"username": r["login"]} for r in pr["requested_reviewers"]],
                "detailed_merge_status": "requested_changes" if changes else "mergeable",
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
        problem = _missing(request.json, ("source_branch", "target_branch", "title"),
                           ("description", "labels", "reviewer_ids", "remove_source_branch", "draft", "squash"))
        if problem:
            return _bad(problem)
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
            "requested_reviewers": [], "user": {"login": "coffee-maker"}, "created_at": now, "updated_at": now}
        return Reply(201, self.render(self.fake.data.pulls[number]))

    def update(self, request: RecordedRequest, iid: int) -> Reply:
        problem = _missing(request.json, (), ("title", "description", "labels", "target_branch", "state_event"))
        if problem:
            return _bad(problem)
        pr = self.fake.data.pulls[iid]
        if "title" in request.json:
            pr["title"] = request.json["title"]
        if "description" in request.json:
            pr["body"] = request.json["description"]
        pr["updated_at"] = self.fake.data.now()
        return Reply(200, self.render(pr))

    def notes(self, iid: int) -> list[dict[str, Any]]:
        data = self.fake.data
        out: list[dict[str, Any]] = []
        for r in data.reviews.get(iid, []):
            if r.get("body"):
                out.append({"body": r["body"], "author": {"username": r["user"]["login"]},
                            "created_at": r["submitted_at"], "system": False})
        for c in data.review_comments.get(iid, []):
            out.append({"body": c["body"], "author": {"username": c["user"]["login"]}, "created_at": c["created_at"],
                        "system": False, "type": "DiffNote",
                        "position": {"new_path": c["path"], "new_line": c["line"]}})
        for c in data.comments.get(iid, []):
            out.append({"body": c["body"], "author": {"username": c["user"]["login"]}, "created_at": c["created_at"],
                        "system": bool(c.get("system"))})
        out.sort(key=lambda n: str(n["created_at"]))
        return [{"id": i, **n} for i, n in enumerate(out, 1)]

    def add_note(self, request: RecordedRequest, iid: int) -> Reply:
        problem = _missing(request.json, ("body",), ())
        if problem:
            return _bad(problem)
        items = self.fake.data.comments.setdefault(iid, [])
        note = {"id": len(items) + 1, "user": {"login": "coffee-maker"}, "body": request.json["body"],
                "created_at": self.fake.data.now()}
        items.append(note)
        return Reply(201, {"id": note["id"], "body": note["body"], "author": {"username": "coffee-maker"},
                           "created_at": note["created_at"], "system": False})
