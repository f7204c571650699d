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

import hashlib
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from coffee_maker.testing._forge_ci import CiHelpers, log_chunks
from coffee_maker.testing._forge_data import ForgeData, RecordedRequest, Reply
from coffee_maker.testing._forge_people import PeopleHelpers
from coffee_maker.testing._forge_routes import GitHubRoutes
from coffee_maker.testing._gitlab_routes import GitLabRoutes

DOCS_RATE_LIMITS = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"


class FakeForge(PeopleHelpers, CiHelpers):
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
        self.lock = threading.RLock()  # routes call helpers that lock too
        self.data.user(login)
        for name, role in {login: "admin", **({"reviewer": "write"} if collaborators is None else collaborators)}.items():
            self.add_collaborator(name, role)
        self.app_token = False  # True: the token is a GitHub App's (GET /user is 403, no `permissions` on repos)
        self.rate_limited_calls = 0  # the next this many requests are refused as over the rate limit
        self.rate_limit_reset = 0  # epoch seconds GitHub's x-ratelimit-reset (GitLab's RateLimit-Reset) names
        self.rate_limit_secondary = False
        self.rate_limit_total = 5000  # GitHub's hourly budget: each answer but a 304 uses one
        self.rate_used = 0
        self.not_modified = 0  # 304s answered
        self.failing_calls, self.failing_status = 0, 502  # the next this many requests fail with this status
        self.merge_methods = {"merge", "squash", "rebase"}  # what the repository allows
        self.auto_merge_allowed = True
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
        gitlab = path.startswith("/api/v4/")
        with self.lock:
            self.requests.append(request)
            if self.failing_calls > 0:
                self.failing_calls -= 1
                self._reply(handler, Reply(self.failing_status, {"message": "Server Error"}))
                return
            if self.rate_limited_calls > 0 or (not gitlab and self.rate_used >= self.rate_limit_total):
                self.rate_limited_calls = max(0, self.rate_limited_calls - 1)
                self._reply(handler, self._over_limit(gitlab=gitlab))
                return
            reply = self._route(request, gitlab)
            if reply.status in (400, 404) and not reply.expected:
                self.problems.append(f"{request.method} {path}: {reply.body}")
            reply = self._conditional(request, reply, gitlab)
        self._reply(handler, reply)

    def _route(self, request: RecordedRequest, gitlab: bool) -> Reply:
        download = re.fullmatch(r"/_downloads/job-logs/(\d+)", request.path)
        if download:  # the pre-signed log URL a 302 led to: no token needed, as on GitHub's blob storage
            job = self.data.jobs.get(int(download.group(1)))
            if job is None:
                return Reply(404, {"message": "Not Found"})
            return Reply(200, None, stream=lambda: log_chunks(job["_log"]))
        return self._gitlab.route(request, unquote) if gitlab else self._github.route(request)

    def _conditional(self, request: RecordedRequest, reply: Reply, gitlab: bool) -> Reply:
        """ETag on every JSON GET, 304 when ``If-None-Match`` names it; GitHub's rate-limit headers on every
        answer, where a 304 uses none of the budget (docs: "conditional requests")."""
        headers = dict(reply.headers)
        if request.method == "GET" and reply.status == 200 and reply.stream is None:
            etag = 'W/"' + hashlib.sha1(json.dumps(reply.body, sort_keys=True).encode()).hexdigest() + '"'
            headers["ETag"] = etag
            if request.headers.get("if-none-match") == etag:
                self.not_modified += 1
                reply = Reply(304, None)
        if reply.status != 304:
            self.rate_used += 1
        reset = str(self.rate_limit_reset or int(time.time()) + 3600)
        remaining = str(max(0, self.rate_limit_total - self.rate_used))
        if gitlab:
            headers.update({"RateLimit-Limit": "2000", "RateLimit-Remaining": remaining, "RateLimit-Reset": reset})
        else:
            headers.update({"x-ratelimit-limit": str(self.rate_limit_total), "x-ratelimit-remaining": remaining,
                            "x-ratelimit-used": str(self.rate_used), "x-ratelimit-reset": reset,
                            "x-ratelimit-resource": "core"})
        return Reply(reply.status, reply.body, headers, reply.expected, reply.stream)

    def _over_limit(self, *, gitlab: bool) -> Reply:
        reset_at = self.rate_limit_reset or int(time.time()) + 3600  # the budget spent: it refills at the hour
        wait = str(max(1, reset_at - int(time.time())))
        reset = str(reset_at)
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
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if reply.stream is not None:  # a log: chunked, never built whole in memory
            handler.send_header("Content-Type", "text/plain; charset=utf-8")
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            for chunk in reply.stream():
                if chunk:
                    handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            handler.wfile.write(b"0\r\n\r\n")
            return
        data = b"" if reply.body is None and reply.status in (204, 302, 304) else json.dumps(reply.body).encode()
        if reply.status not in (204, 304):
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if data:
            handler.wfile.write(data)
