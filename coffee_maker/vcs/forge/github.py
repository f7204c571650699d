"""GitHub pull requests over the REST API (httpx)."""

from __future__ import annotations

from typing import Any

import httpx
import structlog

from coffee_maker.config.git import ForgeSettings
from coffee_maker.errors import ForgeError
from coffee_maker.types import PRState, PullRequest

log = structlog.get_logger(__name__)


class GitHubForge:
    name = "github"

    def __init__(self, api_url: str, owner: str, repo: str, token: str, settings: ForgeSettings,
                 *, timeout_s: float = 30.0) -> None:
        self.owner, self.repo, self.settings = owner, repo, settings
        self.client = httpx.Client(base_url=api_url.rstrip("/"), timeout=timeout_s, headers={
            "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
            "Authorization": f"Bearer {token}", "User-Agent": "coffee-maker",
        })

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.client.request(method, f"/repos/{self.owner}/{self.repo}{path}", **kwargs)
        except httpx.HTTPError as exc:
            raise ForgeError(f"GitHub could not be reached ({type(exc).__name__}: {exc}).") from None
        if response.status_code == 401:
            raise ForgeError("GitHub refused the token (401): check GITHUB_TOKEN or `gh auth login`.")
        return response

    def _json(self, response: httpx.Response, what: str) -> Any:
        if response.is_error:
            message = response.json().get("message", response.text[:200]) if response.content else response.reason_phrase
            raise ForgeError(f"GitHub could not {what}: {response.status_code} {message}.")
        return response.json()

    def _pr(self, data: dict[str, Any]) -> PullRequest:
        state = PRState.MERGED if data.get("merged_at") else PRState(data["state"])
        return PullRequest(number=data["number"], url=data["html_url"], branch=data["head"]["ref"],
                           base=data["base"]["ref"], title=data["title"], state=state, provider="github")

    def open_or_update(self, *, branch: str, base: str, title: str, body: str) -> PullRequest:
        existing = self.find(branch)
        if existing is not None and existing.state is PRState.OPEN:
            data = self._json(self._call("PATCH", f"/pulls/{existing.number}", json={"title": title, "body": body}),
                              "update the pull request")
            return self._pr(data)
        response = self._call("POST", "/pulls", json={"title": title, "head": branch, "base": base, "body": body,
                                                       "draft": self.settings.draft})
        if response.status_code == 422 and "already exists" in response.text:
            found = self.find(branch)  # opened by a crashed run or a person: update it, never duplicate
            if found is None:
                raise ForgeError(f"GitHub says a pull request for {branch} exists but it cannot be found.")
            return self.open_or_update(branch=branch, base=base, title=title, body=body)
        pr = self._pr(self._json(response, "open the pull request"))
        if self.settings.labels:
            self._json(self._call("POST", f"/issues/{pr.number}/labels", json={"labels": self.settings.labels}),
                       "label the pull request")
        if self.settings.reviewers:
            self._json(self._call("POST", f"/pulls/{pr.number}/requested_reviewers",
                                  json={"reviewers": self.settings.reviewers}), "request reviewers")
        return pr

    def find(self, branch: str) -> PullRequest | None:
        pulls = self._json(self._call("GET", "/pulls", params={"head": f"{self.owner}:{branch}", "state": "all"}),
                           "list pull requests")
        if not pulls:
            return None
        pulls.sort(key=lambda p: (p["state"] != "open", -p["number"]))
        pr = self._pr(pulls[0])
        return PullRequest(**{**pr.__dict__, "review_decision": self._review_decision(pr.number),
                              "checks": self._checks(pulls[0]["head"].get("sha"))})

    def _review_decision(self, number: int) -> str | None:
        reviews = self._json(self._call("GET", f"/pulls/{number}/reviews"), "read reviews")
        latest: dict[str, str] = {}
        for review in reviews:
            if review.get("state") in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
                latest[review.get("user", {}).get("login", "")] = review["state"]
        if "CHANGES_REQUESTED" in latest.values():
            return "changes_requested"
        return "approved" if "APPROVED" in latest.values() else None

    def _checks(self, sha: str | None) -> str | None:
        if not sha:
            return None
        data = self._json(self._call("GET", f"/commits/{sha}/check-runs"), "read CI checks")
        runs = data.get("check_runs", [])
        if not runs:
            return None
        if any(r.get("status") != "completed" for r in runs):
            return "pending"
        return "success" if all(r.get("conclusion") in ("success", "skipped", "neutral") for r in runs) else "failure"

    def feedback(self, pr: PullRequest) -> list[str]:
        """Review bodies, inline review comments and conversation comments, oldest first."""
        items: list[tuple[str, str]] = []
        for review in self._json(self._call("GET", f"/pulls/{pr.number}/reviews"), "read reviews"):
            if review.get("body"):
                items.append((review.get("submitted_at", ""), f"{review['user']['login']}: {review['body']}"))
        for c in self._json(self._call("GET", f"/pulls/{pr.number}/comments"), "read review comments"):
            where = f" ({c.get('path')}:{c.get('line') or c.get('original_line')})" if c.get("path") else ""
            items.append((c.get("created_at", ""), f"{c['user']['login']}{where}: {c['body']}"))
        for c in self._json(self.client.get(f"/repos/{self.owner}/{self.repo}/issues/{pr.number}/comments"),
                            "read comments"):
            items.append((c.get("created_at", ""), f"{c['user']['login']}: {c['body']}"))
        return [text for _, text in sorted(items)]
