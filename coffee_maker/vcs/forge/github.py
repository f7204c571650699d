"""GitHub pull requests over the REST API (httpx), and the same calls through the `gh` CLI.

The provider logic (idempotent open, review decision, checks, feedback) is written
once against ``_send(method, path, params, payload) -> (status, json)``; the REST
provider sends with httpx, ``GhCliForge`` (forge/gh.py) with `gh api`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any
from urllib.parse import quote

import structlog

from coffee_maker.config.git import ForgeSettings
from coffee_maker.errors import ForgeError
from coffee_maker.types import PRState, PullRequest, ReviewComment
from coffee_maker.vcs.forge._github_api import HEADERS, GitHubApi
from coffee_maker.vcs.forge._github_api import login_of as _login
from coffee_maker.vcs.forge._polling import Answer, RetryPolicy
from coffee_maker.vcs.forge.errors import forge_errors_only
from coffee_maker.vcs.forge.github_ci import GitHubCi
from coffee_maker.vcs.forge.github_review import GitHubReview
from coffee_maker.vcs.forge.trust import ReviewerTrust, ReviewFeedback

__all__ = ["HEADERS", "Answer", "GitHubApi", "GitHubForge"]

log = structlog.get_logger(__name__)


class GitHubForge(GitHubCi, GitHubReview):
    name = "github"

    def __init__(self, api_url: str, owner: str, repo: str, token: str, settings: ForgeSettings,
                 *, timeout_s: float = 30.0, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(api_url, owner, repo, token, timeout_s=timeout_s, retry=retry, sleep=sleep)
        self.settings = settings

    # ------------------------------------------------------------------ pull requests

    def _pr(self, data: dict[str, Any], *, details: bool = True) -> PullRequest:
        state = PRState.MERGED if data.get("merged_at") or data.get("merged") else PRState(data["state"])
        number = int(data["number"])
        decision, approved = self._review_decision(number) if details else (None, False)
        sha = data["head"].get("sha")
        return PullRequest(number=number, url=data["html_url"], branch=data["head"]["ref"],
                           base=data["base"]["ref"], title=data["title"], state=state, provider=self.name,
                           review_decision=decision, checks=self._checks(sha) if details else None,
                           mergeable=data.get("mergeable"), draft=bool(data.get("draft")), approved=approved,
                           head_sha=sha)

    @forge_errors_only("GitHub")
    def open_or_update(self, *, branch: str, base: str, title: str, body: str, labels: Sequence[str] | None = None,
                       reviewers: Sequence[str] | None = None, draft: bool | None = None) -> PullRequest:
        """Open the branch's PR, or update the open one — a second PR for a branch is never created."""
        existing = self._find(branch, details=False)
        if existing is None or existing.state is not PRState.OPEN:
            payload = {"title": title, "head": branch, "base": base, "body": body,
                       "draft": self.settings.draft if draft is None else draft}
            status, data = self._call("POST", "/pulls", "open the pull request", payload=payload, allow=(422,))
            if status != 422:
                number = int(data["number"])
                self._decorate(number, labels, reviewers)
                log.info("pull request opened", number=number, branch=branch)
                return self._pr(data, details=False)  # brand new: no reviews, CI not reported yet
            if "already exists" not in str(data):
                errors = "; ".join(e.get("message", str(e)) for e in data.get("errors", []) if isinstance(e, dict))
                raise ForgeError(f"GitHub could not open the pull request: 422 {errors or data.get('message')}.")
            existing = self._find(branch, details=False)  # opened meanwhile by a crashed run or a person
            if existing is None:
                raise ForgeError(f"GitHub says a pull request for {branch} exists but it cannot be found.")
        _, data = self._call("PATCH", f"/pulls/{existing.number}", "update the pull request",
                             payload={"title": title, "body": body})
        # A crash between the create call and its labels leaves the PR bare: add what is missing.
        self._decorate(existing.number, labels, reviewers, present=data)
        return self._pr(data)

    def _decorate(self, number: int, labels: Sequence[str] | None, reviewers: Sequence[str] | None,
                  present: dict[str, Any] | None = None) -> None:
        """Labels and reviewers on a PR; with ``present`` (the PR as it is) only those it lacks.

        A reviewer who already reviewed is not asked again: re-requesting would ping them on every update.
        """
        labels = self.settings.labels if labels is None else labels
        reviewers = self.settings.reviewers if reviewers is None else reviewers
        if present is not None:
            have = {str(x.get("name")) for x in present.get("labels") or [] if isinstance(x, dict)}
            labels = [x for x in labels if x not in have]
            asked = {str(x.get("login")) for x in present.get("requested_reviewers") or [] if isinstance(x, dict)}
            reviewers = [r for r in reviewers if r not in asked]
            if reviewers:
                reviewed = {_login(r) for r in self._get(f"/pulls/{number}/reviews", "read reviews")}
                reviewers = [r for r in reviewers if r not in reviewed]
        if labels:
            self._call("POST", f"/issues/{number}/labels", "label the pull request", payload={"labels": list(labels)})
        if reviewers:
            self._call("POST", f"/pulls/{number}/requested_reviewers", "request reviewers",
                       payload={"reviewers": list(reviewers)})

    @forge_errors_only("GitHub")
    def find(self, branch: str) -> PullRequest | None:
        """The branch's PR: the open one if any, else the newest closed or merged one."""
        return self._find(branch, details=True)

    def _find(self, branch: str, *, details: bool) -> PullRequest | None:
        pulls = self._get("/pulls", "list pull requests", {"head": f"{self.owner}:{branch}", "state": "all"})
        if not pulls:
            return None
        pulls.sort(key=lambda p: (p["state"] != "open", -int(p["number"])))
        return self._pr(pulls[0], details=details)

    @forge_errors_only("GitHub")
    def get(self, number: int) -> PullRequest:
        return self._pr(self._get(f"/pulls/{number}", f"read pull request #{number}"))

    @forge_errors_only("GitHub")
    def retarget(self, pr: PullRequest, base: str) -> PullRequest:
        """Point the PR at ``base`` (a stacked PR whose parent merged): `PATCH /pulls/{n}` with `base`."""
        _, data = self._call("PATCH", f"/pulls/{pr.number}", f"retarget #{pr.number} onto {base}",
                             payload={"base": base})
        return self._pr(data)

    @forge_errors_only("GitHub")
    def update_body(self, pr: PullRequest, body: str) -> None:
        """`PATCH /pulls/{n}` with the body alone: a merged or closed PR stays as it is."""
        self._call("PATCH", f"/pulls/{pr.number}", f"update the body of #{pr.number}", payload={"body": body})

    def _review_decision(self, number: int) -> tuple[str | None, bool]:
        """(approved | changes_requested | None, whether a trusted person's latest review approves)."""
        latest: dict[str, str] = {}
        for review in self._get(f"/pulls/{number}/reviews", "read reviews"):
            if review.get("state") in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
                latest[_login(review)] = review["state"]
        latest = {who: state for who, state in latest.items() if self.trust.trusts(who)}  # a drive-by review counts not
        if "CHANGES_REQUESTED" in latest.values():
            return "changes_requested", False
        approved = "APPROVED" in latest.values()
        return ("approved" if approved else None), approved

    def _checks(self, sha: str | None) -> str | None:
        if not sha:
            return None
        runs = self._get(f"/commits/{sha}/check-runs", "read CI checks").get("check_runs", [])
        if not runs:
            return None
        if any(r.get("status") != "completed" for r in runs):
            return "pending"
        return "success" if all(r.get("conclusion") in ("success", "skipped", "neutral") for r in runs) else "failure"

    # ------------------------------------------------------------------ feedback

    @forge_errors_only("GitHub")
    def comments(self, pr: PullRequest) -> list[ReviewComment]:
        """Review bodies, inline review comments and conversation comments, oldest first."""
        items: list[ReviewComment] = []
        for r in self._get(f"/pulls/{pr.number}/reviews", "read reviews"):
            if r.get("body"):
                items.append(ReviewComment(_login(r), r["body"], created_at=r.get("submitted_at") or "", kind="review"))
        for c in self._get(f"/pulls/{pr.number}/comments", "read review comments"):
            items.append(ReviewComment(_login(c), c["body"], path=c.get("path"),
                                       line=c.get("line") or c.get("original_line"),
                                       created_at=c.get("created_at") or "", kind="inline"))
        for c in self._get(f"/issues/{pr.number}/comments", "read comments"):
            items.append(ReviewComment(_login(c), c["body"], created_at=c.get("created_at") or ""))
        return sorted(items, key=lambda c: c.created_at)

    @forge_errors_only("GitHub")
    def review_feedback(self, pr: PullRequest) -> ReviewFeedback:
        """The PR's comments, split into those by people who may write (or configured reviewers) and the rest."""
        return self.trust.split(self.comments(pr))

    @forge_errors_only("GitHub")
    def feedback(self, pr: PullRequest) -> list[str]:
        """What reaches the agent: trusted comments only (the others are logged once and ignored)."""
        return [str(c) for c in self.review_feedback(pr).trusted]

    @forge_errors_only("GitHub")
    def verify(self) -> str:
        """Ask GitHub who the token is and whether it reaches the repository (what `doctor` shows)."""
        status, user = self._call("GET", "/user", "check the token", in_repo=False, allow=(403,))
        who = f"{user['login']}'s token" if status != 403 else "the token"  # an app's token has no /user
        status, repo = self._call("GET", "", "read the repository", allow=(404,))
        where = f"{self.owner}/{self.repo}"
        if status == 404:
            raise ForgeError(f"GitHub: {who} cannot see {where} (404); check the remote URL "
                             "and the token's repository access.")
        permissions = repo.get("permissions")
        if permissions is not None and not permissions.get("push"):
            raise ForgeError(f"GitHub: {who} may only read {where}; it needs write access "
                             "to push branches and open pull requests.")
        signed_in = f"signed in as {user['login']}" if who != "the token" else "an app token"
        return f"{self.name}: {signed_in}, may write to {where}" if permissions is not None else \
            f"{self.name}: {signed_in}, reaches {where}"

    @cached_property
    def trust(self) -> ReviewerTrust:
        return ReviewerTrust(self.name, self._may_write, self.settings.reviewers,
                             allowed=self.settings.reviewers_allowed)

    def _may_write(self, login: str) -> bool:
        """Whether GitHub gives ``login`` write access (write, maintain, admin) to this repository."""
        status, data = self._call("GET", f"/collaborators/{quote(login, safe='')}/permission",
                                  f"read {login}'s permission", allow=(403, 404))
        if status == 404:  # no such user
            return False
        if status == 403:
            log.warning("cannot read collaborator permissions with this token; comments by others than the "
                        "configured [forge] reviewers are ignored", author=login)
            return False
        return data.get("permission") in ("admin", "write") or data.get("role_name") in ("admin", "maintain", "write")

    @forge_errors_only("GitHub")
    def comment(self, pr: PullRequest, body: str) -> None:
        self._call("POST", f"/issues/{pr.number}/comments", "comment on the pull request", payload={"body": body})
