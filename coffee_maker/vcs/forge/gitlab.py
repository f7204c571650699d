"""GitLab merge requests over the REST API v4 (httpx; python-gitlab would add a dependency for
five calls)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from coffee_maker.config.git import ForgeSettings
from coffee_maker.errors import ForgeError
from coffee_maker.types import PRState, PullRequest

_STATES = {"opened": PRState.OPEN, "merged": PRState.MERGED, "closed": PRState.CLOSED, "locked": PRState.CLOSED}


class GitLabForge:
    name = "gitlab"

    def __init__(self, api_url: str, project: str, token: str, settings: ForgeSettings, *, timeout_s: float = 30.0) -> None:
        self.project = quote(project, safe="")
        self.settings = settings
        self.client = httpx.Client(base_url=api_url.rstrip("/"), timeout=timeout_s,
                                   headers={"PRIVATE-TOKEN": token, "User-Agent": "coffee-maker"})

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        try:
            response = self.client.request(method, f"/projects/{self.project}{path}", **kwargs)
        except httpx.HTTPError as exc:
            raise ForgeError(f"GitLab could not be reached ({type(exc).__name__}: {exc}).") from None
        if response.status_code == 401:
            raise ForgeError("GitLab refused the token (401): check GITLAB_TOKEN.")
        if response.is_error:
            raise ForgeError(f"GitLab could not {what}: {response.status_code} {response.text[:200]}.")
        return response.json()

    def _pr(self, data: dict[str, Any]) -> PullRequest:
        return PullRequest(number=data["iid"], url=data["web_url"], branch=data["source_branch"],
                           base=data["target_branch"], title=data["title"], state=_STATES.get(data["state"], PRState.OPEN),
                           provider="gitlab",
                           review_decision="changes_requested" if data.get("detailed_merge_status") == "requested_changes" else None)

    def open_or_update(self, *, branch: str, base: str, title: str, body: str) -> PullRequest:
        existing = self.find(branch)
        if existing is not None and existing.state is PRState.OPEN:
            return self._pr(self._call("PUT", f"/merge_requests/{existing.number}", "update the merge request",
                                       json={"title": title, "description": body}))
        payload = {"source_branch": branch, "target_branch": base, "title": ("Draft: " if self.settings.draft else "") + title,
                   "description": body, "labels": ",".join(self.settings.labels), "remove_source_branch": True}
        return self._pr(self._call("POST", "/merge_requests", "open the merge request", json=payload))

    def find(self, branch: str) -> PullRequest | None:
        mrs = self._call("GET", "/merge_requests", "list merge requests", params={"source_branch": branch})
        if not mrs:
            return None
        mrs.sort(key=lambda m: (m["state"] != "opened", -m["iid"]))
        return self._pr(mrs[0])

    def feedback(self, pr: PullRequest) -> list[str]:
        notes = self._call("GET", f"/merge_requests/{pr.number}/notes", "read comments",
                           params={"sort": "asc", "order_by": "created_at"})
        return [f"{n['author']['username']}: {n['body']}" for n in notes if not n.get("system")]
