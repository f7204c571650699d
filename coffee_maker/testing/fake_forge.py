"""A local GitHub and GitLab REST API on 127.0.0.1, for the forge providers' tests and benchmarks.

Why a hand-written fake: the providers' worth is in the exact requests they send
(method, path, headers, JSON) and in how they react to the forge's answers — above
all GitHub's 422 "A pull request already exists for …" and GitLab's 409. The fake
checks every request like the real API would (a wrong token is 401, a missing
header or field is 400 and is also recorded in ``problems``), records every call,
and lets a test play the reviewer: merge, close, request changes, comment, set CI.

Usage::

    with FakeForge(token="t0k") as fake:
        forge = GitHubForge(fake.url, "o", "r", "t0k", ForgeSettings())
        pr = forge.open_or_update(branch="b", base="main", title="T", body="B")
        fake.review(pr.number, "CHANGES_REQUESTED", "please add a test")
        assert fake.problems == []

GitHub lives at ``fake.url`` (``/repos/{owner}/{repo}/…``), GitLab at ``fake.gitlab_url``
(``/api/v4/projects/{id}/…``). Requests in proxy form (``GET http://host/path``, as sent
by a client that uses the fake as its HTTP proxy) are served too.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from coffee_maker.testing._forge_routes import ROLES, GitHubRoutes, Reply
from coffee_maker.testing._gitlab_routes import GitLabRoutes

DOCS_RATE_LIMITS = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"


@dataclass
class RecordedRequest:
    """One request the fake received, as the provider sent it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any


@dataclass
class ForgeData:
    """The fake's state: pull requests by number and what a reviewer did to them."""

    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    reviews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    review_comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    check_runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)  # login → user id, as the forge numbers its users
    collaborators: dict[str, str] = field(default_factory=dict)  # login → role: admin maintain write triage read
    numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    clock: itertools.count[int] = field(default_factory=lambda: itertools.count(0))

    def now(self) -> str:
        """A strictly increasing timestamp, so ordering never depends on the wall clock."""
        tick = next(self.clock)
        return f"2026-01-01T{tick // 3600 % 24:02d}:{tick // 60 % 60:02d}:{tick % 60:02d}Z"

    def user(self, login: str) -> dict[str, Any]:
        """The user as GitHub shows it (`login`, `id`), numbered on first sight."""
        uid = self.users.setdefault(login, 100 + len(self.users))
        return {"login": login, "id": uid}


class FakeForge:
    def __init__(self, *, token: str = "test-token", owner: str = "o", repo: str = "r",
                 gitlab_project: str = "group/project", login: str = "coffee-maker",
                 collaborators: dict[str, str] | None = None) -> None:
        """``login`` is the token's user (an admin); ``collaborators`` maps other logins to their role
        (default: the helpers' default ``reviewer`` may write). Anyone else may only read, as on a public repo."""
        self.token, self.owner, self.repo, self.gitlab_project = token, owner, repo, gitlab_project
        self.login = login
        self.data = ForgeData()
        self.requests: list[RecordedRequest] = []
        self.problems: list[str] = []
        self.lock = threading.Lock()
        self.data.user(login)
        for name, role in {login: "admin", **({"reviewer": "write"} if collaborators is None else collaborators)}.items():
            self.add_collaborator(name, role)
        self.app_token = False  # True: the token is a GitHub App's (GET /user is 403, no `permissions` on repos)
        self.rate_limited_calls = 0  # the next this many requests are refused as over the rate limit
        self.rate_limit_reset = 0  # epoch seconds GitHub's x-ratelimit-reset (GitLab's RateLimit-Reset) names
        self.rate_limit_secondary = False
        self._github = GitHubRoutes(self)
        self._gitlab = GitLabRoutes(self)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeForge:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like the real API

            def setup(self) -> None:
                super().setup()  # no Nagle: headers and body go out as two writes
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                return

            def _serve(self) -> None:
                fake._handle(self)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-forge", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeForge:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start the fake first"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The GitHub API base URL (what `[forge] api_url` would be)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def gitlab_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v4"

    # ------------------------------------------------------------------ the reviewer's side

    def pull(self, number: int) -> dict[str, Any]:
        return self.data.pulls[number]

    def set_merged(self, number: int) -> None:
        with self.lock:
            pr = self.data.pulls[number]
            pr.update(state="closed", merged=True, merged_at=self.data.now())

    def set_closed(self, number: int) -> None:
        with self.lock:
            self.data.pulls[number].update(state="closed", merged=False, merged_at=None)

    def review(self, number: int, state: str, body: str = "", *, user: str = "reviewer") -> None:
        """A review: APPROVED, CHANGES_REQUESTED or COMMENTED."""
        with self.lock:
            self.data.reviews.setdefault(number, []).append(
                {"id": len(self.data.reviews.get(number, [])) + 1, "user": self.data.user(user), "state": state,
                 "body": body, "submitted_at": self.data.now()})

    def review_comment(self, number: int, body: str, *, path: str, line: int, user: str = "reviewer") -> None:
        with self.lock:
            self.data.review_comments.setdefault(number, []).append(
                {"user": self.data.user(user), "body": body, "path": path, "line": line, "created_at": self.data.now()})

    def comment(self, number: int, body: str, *, user: str = "reviewer", system: bool = False) -> None:
        with self.lock:
            self.data.comments.setdefault(number, []).append(
                {"id": len(self.data.comments.get(number, [])) + 1, "user": self.data.user(user), "body": body,
                 "created_at": self.data.now(), "system": system})

    def add_collaborator(self, login: str, role: str = "write") -> None:
        """Give ``login`` a role on the repository: admin, maintain, write, triage or read."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        with self.lock:
            self.data.user(login)
            self.data.collaborators[login] = role

    def rate_limit(self, calls: int = 1, *, reset_in_s: float = 60.0, secondary: bool = False) -> None:
        """Refuse the next ``calls`` requests as the real APIs do over their limit: GitHub 403 with
        ``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset`` (``secondary``: 403 with ``retry-after``),
        GitLab 429 with ``Retry-After`` and ``RateLimit-Reset``."""
        with self.lock:
            self.rate_limited_calls = calls
            self.rate_limit_reset = int(time.time() + reset_in_s)
            self.rate_limit_secondary = secondary

    def set_checks(self, number: int, *runs: tuple[str, str | None]) -> None:
        """CI check runs on the PR's head commit, as (status, conclusion) pairs."""
        with self.lock:
            sha = self.data.pulls[number]["head"]["sha"]
            self.data.check_runs[sha] = [{"name": f"check-{i}", "status": s, "conclusion": c}
                                         for i, (s, c) in enumerate(runs, 1)]

    def calls(self, method: str | None = None) -> list[tuple[str, str]]:
        """(method, path) of every request received, optionally of one method only."""
        return [(r.method, r.path) for r in self.requests if method is None or r.method == method]

    # ------------------------------------------------------------------ dispatch

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.path
        if raw.startswith(("http://", "https://")):  # proxy form
            raw = raw.split("://", 1)[1]
            raw = "/" + raw.split("/", 1)[1] if "/" in raw else "/"
        parsed = urlparse(raw)
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        body = self._body(handler)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            self._reply(handler, Reply(400, {"message": "Problems parsing JSON"}))
            return
        path = re.sub(r"^/api/v3(?=/)", "", parsed.path)  # GitHub Enterprise and gh's enterprise prefix
        request = RecordedRequest(handler.command, path, query, headers, payload)
        with self.lock:
            self.requests.append(request)
            if self.rate_limited_calls > 0:
                self.rate_limited_calls -= 1
                self._reply(handler, self._over_limit(gitlab=path.startswith("/api/v4/")))
                return
            if path.startswith("/api/v4/"):
                reply = self._gitlab.route(request, unquote)
            else:
                reply = self._github.route(request)
            if reply.status in (400, 404) and not reply.expected:
                self.problems.append(f"{request.method} {path}: {reply.body}")
        self._reply(handler, reply)

    def _over_limit(self, *, gitlab: bool) -> Reply:
        wait = str(max(1, self.rate_limit_reset - int(time.time())))
        reset = str(self.rate_limit_reset)
        if gitlab:
            return Reply(429, {"message": "Retry later"}, {
                "Retry-After": wait, "RateLimit-Limit": "600", "RateLimit-Observed": "601",
                "RateLimit-Remaining": "0", "RateLimit-Reset": reset})
        if self.rate_limit_secondary:
            return Reply(403, {"message": "You have exceeded a secondary rate limit. Please wait a few minutes "
                               "before you try again.", "documentation_url": DOCS_RATE_LIMITS}, {"Retry-After": wait})
        return Reply(403, {"message": "API rate limit exceeded for user ID 100.", "documentation_url": DOCS_RATE_LIMITS},
                     {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0", "x-ratelimit-used": "5000",
                      "x-ratelimit-reset": reset, "x-ratelimit-resource": "core"})

    @staticmethod
    def _body(handler: BaseHTTPRequestHandler) -> bytes:
        """The request body, with a Content-Length or chunked (gh streams `--input -` that way)."""
        if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    handler.rfile.readline()
                    return b"".join(chunks)
                chunks.append(handler.rfile.read(size))
                handler.rfile.readline()
        length = int(handler.headers.get("Content-Length") or 0)
        return handler.rfile.read(length) if length else b""

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        data = json.dumps(reply.body).encode()
        handler.send_response(reply.status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
