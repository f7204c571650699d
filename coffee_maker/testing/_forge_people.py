"""The fake forge's reviewer-side helpers: what a person (or the forge itself) does to a pull request
in a test — review, comment, merge, close, give roles, impose rate limits and failures.
Mixed into ``FakeForge``; every helper takes the fake's (re-entrant) lock.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

from coffee_maker.testing._forge_data import ROLES, ForgeData


class PeopleHelpers:
    data: ForgeData
    lock: threading.RLock
    login: str
    rate_limited_calls: int
    rate_limit_reset: int
    rate_limit_secondary: bool
    failing_calls: int
    failing_status: int

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

    def review_comment(self, number: int, body: str, *, path: str, line: int, user: str = "reviewer") -> int:
        """An inline review comment starting a thread; its id."""
        return int(self.add_review_comment(number, body, path=path, line=line, user=user)["id"])

    def add_review_comment(self, number: int, body: str, *, path: str, line: int, user: str,
                           in_reply_to: int | None = None) -> dict[str, Any]:
        with self.lock:
            cid = next(self.data.ids)
            comment = {"id": cid, "node_id": f"PRRC_{cid}", "user": self.data.user(user), "body": body, "path": path,
                       "line": line, "original_line": line, "side": "RIGHT", "created_at": self.data.now(),
                       "pull_request_review_id": None, **({"in_reply_to_id": in_reply_to} if in_reply_to else {})}
            self.data.review_comments.setdefault(number, []).append(comment)
            return comment

    def fail(self, calls: int = 1, *, status: int = 502) -> None:
        """The next ``calls`` requests fail with ``status`` (a forge having a bad minute)."""
        with self.lock:
            self.failing_calls, self.failing_status = calls, status

    def do_merge(self, number: int, method: str) -> str:
        """Merge the PR (under the lock): closed, merged, a merge commit sha."""
        pr = self.data.pulls[number]
        sha = hashlib.sha1(f"merge{number}{method}".encode()).hexdigest()
        pr.update(state="closed", merged=True, merged_at=self.data.now(), merge_commit_sha=sha)
        self.data.merges.append((number, method))
        return sha

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
