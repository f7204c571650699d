"""What the fake forge's parts share: the recorded request, the forge's state, a route's reply, and
``ForgeHost`` — what the route modules need of ``FakeForge``.

It lives apart from ``fake_forge`` and imports none of the route modules, so imports flow one way:
``fake_forge`` → the routes and helpers → this module.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

# GitHub's repository roles, weakest first, and the GitLab access level each maps to (Guest 10 … Owner 50).
ROLES = {"read": 10, "triage": 20, "write": 30, "maintain": 40, "admin": 50}


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
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # sha → commit statuses
    jobs: dict[int, dict[str, Any]] = field(default_factory=dict)  # check run (= Actions job) id → run
    resolved: set[int] = field(default_factory=set)  # first comment ids of resolved review threads
    reruns: list[int] = field(default_factory=list)  # job ids re-run, in order
    merges: list[tuple[int, str]] = field(default_factory=list)  # (number, method) merged
    deleted_branches: list[str] = field(default_factory=list)
    numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))  # comments, jobs, statuses
    clock: itertools.count[int] = field(default_factory=lambda: itertools.count(0))

    def now(self) -> str:
        """A strictly increasing timestamp, so ordering never depends on the wall clock."""
        tick = next(self.clock)
        return f"2026-01-01T{tick // 3600 % 24:02d}:{tick // 60 % 60:02d}:{tick % 60:02d}Z"

    def user(self, login: str) -> dict[str, Any]:
        """The user as GitHub shows it (`login`, `id`), numbered on first sight."""
        uid = self.users.setdefault(login, 100 + len(self.users))
        return {"login": login, "id": uid}


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    expected: bool = False  # a 404 that is the API's normal answer (not a member), not a wrong request
    stream: Callable[[], Iterator[bytes]] | None = None  # a text/plain body sent in chunks (a job log)


def bad_request(message: str) -> Reply:
    return Reply(400, {"message": message})


def payload_problem(payload: Any, required: tuple[str, ...], allowed: tuple[str, ...]) -> str | None:
    """What is wrong with a JSON body: not an object, a required string field absent, an unknown field."""
    if not isinstance(payload, dict):
        return "a JSON object body is required"
    absent = [k for k in required if not isinstance(payload.get(k), str) or not payload[k]]
    unknown = sorted(set(payload) - set(required) - set(allowed))
    if absent:
        return f"missing fields: {', '.join(absent)}"
    return f"unknown fields: {', '.join(unknown)}" if unknown else None


class ForgeHost(Protocol):
    """The parts of ``FakeForge`` its routes read and call: the repository it plays and the
    reviewer helpers a request can trigger. Every route runs under the fake's lock."""

    data: ForgeData
    token: str
    owner: str
    repo: str
    gitlab_project: str
    login: str
    app_token: bool
    merge_methods: set[str]
    auto_merge_allowed: bool

    @property
    def port(self) -> int: ...

    def add_review_comment(self, number: int, body: str, *, path: str, line: int, user: str,
                           in_reply_to: int | None = None) -> dict[str, Any]: ...

    def comment(self, number: int, body: str, *, user: str = "reviewer", system: bool = False) -> None: ...

    def do_merge(self, number: int, method: str) -> str: ...
