"""The fake forge's GitHub routes (pulls, reviews, comments, check-runs, permissions, /user) and
their pull request rendering.

The pull request records are kept in GitHub's shape; the GitLab routes (``_gitlab_routes``)
render the same records, so a test can drive either API through one set of reviewer helpers
on ``FakeForge``. Every handler runs under the fake's lock.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from coffee_maker.testing import _forge_loop_routes
from coffee_maker.testing._forge_data import (
    ROLES,
    ForgeHost,
    RecordedRequest,
    Reply,
    bad_request,
    payload_problem,
)


class GitHubRoutes:
    """`/repos/{owner}/{repo}/…` as api.github.com answers it (the parts coffee-maker uses)."""

    def __init__(self, fake: ForgeHost) -> None:
        self.fake = fake
        self.loop = _forge_loop_routes.LoopRoutes(fake)
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Reply]]] = [*_forge_loop_routes.routes(fake),
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
            ("GET", re.compile(r"/commits/([^/]+)/check-runs"), self.loop.check_runs),
            ("GET", re.compile(r"/collaborators/([^/]+)/permission"), self.permission),
        ]

    def route(self, request: RecordedRequest) -> Reply:
        h = request.headers
        if h.get("authorization") not in (f"Bearer {self.fake.token}", f"token {self.fake.token}"):
            return Reply(401, {"message": "Bad credentials"})
        if h.get("accept") != "application/vnd.github+json":
            return bad_request(f"Accept must be application/vnd.github+json, got {h.get('accept')!r}")
        if h.get("x-github-api-version") != "2022-11-28":
            return bad_request(f"X-GitHub-Api-Version must be 2022-11-28, got {h.get('x-github-api-version')!r}")
        if request.path == "/user" and request.method == "GET":
            if self.fake.app_token:
                return Reply(403, {"message": "Resource not accessible by integration"})
            return Reply(200, {**self.fake.data.user(self.fake.login), "type": "User"})
        if request.path == "/graphql" and request.method == "POST":
            return self.loop.graphql(request)
        prefix = f"/repos/{self.fake.owner}/{self.fake.repo}"
        if request.path == prefix and request.method == "GET":
            repository = self.repository()
            if self.fake.app_token:
                del repository["permissions"]  # only user tokens are told their permissions
            return Reply(200, repository)
        if not request.path.startswith(prefix + "/"):
            return Reply(404, {"message": "Not Found"})
        rest = request.path[len(prefix):]
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(rest)
            if match and method == request.method:
                args = [int(g) if g.isdigit() else g for g in match.groups()]
                numbered = rest.startswith(("/pulls/", "/issues/"))  # the first number is a PR's
                if numbered and isinstance(args[0], int) and args[0] not in self.fake.data.pulls:
                    return Reply(404, {"message": "Not Found"})
                return handler(request, *args)
        return Reply(404, {"message": f"Not Found: {request.method} {request.path}"})

    def repository(self) -> dict[str, Any]:
        """The repository as the token's user sees it: `permissions` are that user's."""
        level = ROLES[self.fake.data.collaborators.get(self.fake.login, "read")]
        return {"full_name": f"{self.fake.owner}/{self.fake.repo}", "name": self.fake.repo, "private": False,
                "default_branch": "main", "owner": {"login": self.fake.owner},
                "permissions": {"admin": level >= ROLES["admin"], "maintain": level >= ROLES["maintain"],
                                "push": level >= ROLES["write"], "triage": level >= ROLES["triage"], "pull": True}}

    # ------------------------------------------------------------------ pulls

    def render(self, pr: dict[str, Any]) -> dict[str, Any]:
        state = "dirty" if pr.get("mergeable") is False else "unknown" if pr.get("mergeable") is None else "clean"
        return {**pr, "mergeable_state": "draft" if pr.get("draft") else state}

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
        problem = payload_problem(request.json, ("title", "head", "base"),
                           ("body", "draft", "maintainer_can_modify", "head_repo", "issue"))
        if problem:
            return bad_request(problem)
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
              "user": self.fake.data.user(self.fake.login), "created_at": now, "updated_at": now,
              "node_id": f"PR_kwDO{number:06d}", "mergeable": True, "auto_merge": None}
        self.fake.data.pulls[number] = pr
        return Reply(201, self.render(pr))

    def get_pull(self, request: RecordedRequest, number: int) -> Reply:
        return Reply(200, self.render(self.fake.data.pulls[number]))

    def update_pull(self, request: RecordedRequest, number: int) -> Reply:
        problem = payload_problem(request.json, (), ("title", "body", "state", "base", "maintainer_can_modify"))
        if problem:
            return bad_request(problem)
        pr = self.fake.data.pulls[number]
        for key in ("title", "body", "state"):
            if key in request.json:
                pr[key] = request.json[key]
        if "base" in request.json:
            pr["base"] = {"ref": request.json["base"]}
        pr["updated_at"] = self.fake.data.now()
        return Reply(200, self.render(pr))

    def request_reviewers(self, request: RecordedRequest, number: int) -> Reply:
        problem = payload_problem(request.json, (), ("reviewers", "team_reviewers"))
        if problem:
            return bad_request(problem)
        pr = self.fake.data.pulls[number]
        pr["requested_reviewers"] = [{"login": r} for r in request.json.get("reviewers", [])]
        return Reply(201, self.render(pr))

    def add_labels(self, request: RecordedRequest, number: int) -> Reply:
        problem = payload_problem(request.json, (), ("labels",))
        if problem or not isinstance(request.json.get("labels"), list):
            return bad_request(problem or "labels must be a list")
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
        problem = payload_problem(request.json, ("body",), ())
        if problem:
            return bad_request(problem)
        items = self.fake.data.comments.setdefault(number, [])
        comment = {"id": len(items) + 1, "user": self.fake.data.user(self.fake.login), "body": request.json["body"],
                   "created_at": self.fake.data.now()}
        items.append(comment)
        return Reply(201, comment)

    def permission(self, request: RecordedRequest, login: str) -> Reply:
        """A public repository: a user who is no collaborator may read; `permission` folds maintain into
        write and triage into read, `role_name` keeps the role (as GitHub answers)."""
        if login not in self.fake.data.users:
            return Reply(404, {"message": "Not Found"}, expected=True)
        role = self.fake.data.collaborators.get(login, "read")
        legacy = {"maintain": "write", "triage": "read"}.get(role, role)
        return Reply(200, {"permission": legacy, "role_name": role, "user": self.fake.data.user(login)})
