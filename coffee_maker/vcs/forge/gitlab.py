"""GitLab merge requests over the REST API v4 (httpx; python-gitlab would add a dependency for
six calls — docs/tech_decisions/forges.md)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import quote, unquote, urlencode

import httpx
import structlog

from coffee_maker.config.git import ForgeSettings
from coffee_maker.errors import ForgeError
from coffee_maker.types import PRState, PullRequest, ReviewComment
from coffee_maker.vcs.forge._polling import Answer, Poller, RetryPolicy
from coffee_maker.vcs.forge.errors import forge_errors_only
from coffee_maker.vcs.forge.gitlab_loop import GitLabLoop
from coffee_maker.vcs.forge.trust import ReviewerTrust, ReviewFeedback

log = structlog.get_logger(__name__)

_STATES = {"opened": PRState.OPEN, "merged": PRState.MERGED, "closed": PRState.CLOSED, "locked": PRState.CLOSED}
_COMPUTING = frozenset({"checking", "unchecked", "preparing", "approvals_syncing"})
DEVELOPER = 30  # GitLab's access level that may push to the project
_PIPELINE = {"success": "success", "failed": "failure", "canceled": "failure", "running": "pending",
             "pending": "pending", "created": "pending"}


class GitLabForge(GitLabLoop):
    name = "gitlab"

    def __init__(self, api_url: str, project: str, token: str, settings: ForgeSettings, *, timeout_s: float = 30.0,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.project = quote(project, safe="")
        self.settings = settings
        self.client = httpx.Client(base_url=api_url.rstrip("/"), timeout=timeout_s,
                                   headers={"PRIVATE-TOKEN": token, "User-Agent": "coffee-maker"})
        self._ids: dict[str, int] = {}  # username → user id, from notes and look-ups
        self.trust = ReviewerTrust(self.name, self._may_write, settings.reviewers, allowed=settings.reviewers_allowed)
        self.poller = Poller("GitLab", policy=retry, sleep=sleep)

    def _call(self, method: str, path: str, what: str, *, allow: Sequence[int] = (), in_project: bool = True,
              **kwargs: Any) -> tuple[int, Any]:
        """One API call (under /projects/{id} unless ``in_project`` is False), its failures as ForgeErrors."""
        url = f"/projects/{self.project}{path}" if in_project else path
        params = kwargs.get("params")
        key = url + (f"?{urlencode(params)}" if params else "")

        def send(extra: dict[str, str]) -> Answer:
            try:
                response = self.client.request(method, url, headers=extra or None, **kwargs)
            except httpx.HTTPError as exc:
                raise ForgeError(f"GitLab could not be reached ({type(exc).__name__}: {exc}).") from None
            try:
                data = response.json() if response.content else None
            except ValueError:
                data = _NotJson(response.text[:200])
            return Answer(response.status_code, data, {k.lower(): v for k, v in response.headers.items()})

        status, data, _ = self.poller.request(method, key, send, lambda a: str(a.data)[:200])
        if status == 401:
            raise ForgeError("GitLab refused the token (401): check GITLAB_TOKEN or [forge] token.")
        if status >= 400 and status not in allow:
            raise ForgeError(f"GitLab could not {what}: {status} {str(data)[:200]}.")
        if isinstance(data, _NotJson):
            raise ForgeError(f"GitLab could not {what}: its answer is not JSON ({str(data)[:120]!r}).")
        return status, data

    def _pr(self, data: dict[str, Any]) -> PullRequest:
        pipeline = (data.get("head_pipeline") or {}).get("status")
        merge_status = data.get("detailed_merge_status")
        mergeable = None if merge_status in _COMPUTING else not data.get("has_conflicts", False)
        return PullRequest(number=int(data["iid"]), url=data["web_url"], branch=data["source_branch"],
                           base=data["target_branch"], title=data["title"],
                           state=_STATES.get(data["state"], PRState.OPEN), provider="gitlab",
                           review_decision="changes_requested" if merge_status == "requested_changes"
                           else None, checks=_PIPELINE.get(pipeline) if pipeline else None,
                           mergeable=mergeable, draft=bool(data.get("draft")), head_sha=data.get("sha"))

    @forge_errors_only("GitLab")
    def open_or_update(self, *, branch: str, base: str, title: str, body: str, labels: Sequence[str] | None = None,
                       reviewers: Sequence[str] | None = None, draft: bool | None = None) -> PullRequest:
        """Open the branch's merge request or update the open one (GitLab's 409 means it exists)."""
        labels = self.settings.labels if labels is None else labels
        reviewer_ids = self._user_ids(self.settings.reviewers if reviewers is None else reviewers)
        found = self._find_raw(branch)
        if found is None or found["state"] != "opened":
            draft = self.settings.draft if draft is None else draft
            payload = {"source_branch": branch, "target_branch": base, "title": ("Draft: " if draft else "") + title,
                       "description": body, "labels": ",".join(labels), "remove_source_branch": True,
                       **({"reviewer_ids": reviewer_ids} if reviewer_ids else {})}
            status, data = self._call("POST", "/merge_requests", "open the merge request", json=payload, allow=(409,))
            if status != 409:
                log.info("merge request opened", number=data["iid"], branch=branch)
                return self._pr(data)
            found = self._find_raw(branch)  # opened meanwhile by a crashed run or a person
            if found is None:
                raise ForgeError(f"GitLab says a merge request for {branch} exists but it cannot be found.")
        # GitLab reads the draft flag from the title: a plain title would mark a draft ready for review.
        keep_draft = bool(found.get("draft") or found.get("work_in_progress")) and not title.startswith("Draft:")
        update: dict[str, Any] = {"title": ("Draft: " if keep_draft else "") + title, "description": body}
        if labels:
            update["add_labels"] = ",".join(labels)
        present = [int(r["id"]) for r in found.get("reviewers") or []]
        if set(reviewer_ids) - set(present):  # add the configured reviewers, keep those a person added
            update["reviewer_ids"] = list(dict.fromkeys(present + reviewer_ids))
        _, data = self._call("PUT", f"/merge_requests/{found['iid']}", "update the merge request", json=update)
        return self._pr(data)

    def _user_ids(self, usernames: Sequence[str]) -> list[int]:
        """GitLab user ids for usernames (reviewer_ids wants ids); an unknown username is logged and skipped."""
        ids = []
        for name in usernames:
            if name not in self._ids:
                _, users = self._call("GET", "/users", f"look up the user {name}", params={"username": name},
                                      in_project=False)
                if not users:
                    log.warning("no GitLab user with this username; not requested as reviewer", username=name)
                    continue
                self._ids[name] = int(users[0]["id"])
            ids.append(self._ids[name])
        return ids

    @forge_errors_only("GitLab")
    def find(self, branch: str) -> PullRequest | None:
        found = self._find_raw(branch)
        return None if found is None else self._pr(found)

    def _find_raw(self, branch: str) -> dict[str, Any] | None:
        _, mrs = self._call("GET", "/merge_requests", "list merge requests",
                            params={"source_branch": branch, "state": "all"})
        if not mrs:
            return None
        mrs.sort(key=lambda m: (m["state"] != "opened", -int(m["iid"])))
        return dict(mrs[0])

    @forge_errors_only("GitLab")
    def get(self, number: int) -> PullRequest:
        """The merge request with ``approved``: a trusted member approved it (GitLab's approvals API)."""
        pr = self._pr(self._call("GET", f"/merge_requests/{number}", f"read merge request !{number}")[1])
        return replace(pr, approved=self.approved(pr))

    @forge_errors_only("GitLab")
    def retarget(self, pr: PullRequest, base: str) -> PullRequest:
        """Point the merge request at ``base``: `PUT /merge_requests/:iid` with `target_branch`."""
        _, data = self._call("PUT", f"/merge_requests/{pr.number}", f"retarget !{pr.number} onto {base}",
                             json={"target_branch": base})
        return self._pr(data)

    @forge_errors_only("GitLab")
    def update_body(self, pr: PullRequest, body: str) -> None:
        """`PUT /merge_requests/:iid` with the description alone: a merged or closed one stays as it is."""
        self._call("PUT", f"/merge_requests/{pr.number}", f"update the description of !{pr.number}",
                   json={"description": body})

    @forge_errors_only("GitLab")
    def comments(self, pr: PullRequest) -> list[ReviewComment]:
        _, notes = self._call("GET", f"/merge_requests/{pr.number}/notes", "read comments",
                              params={"sort": "asc", "order_by": "created_at"})
        out = []
        for n in notes:
            if n.get("system"):
                continue
            position = n.get("position") or {}
            self._ids.setdefault(n["author"]["username"], int(n["author"]["id"]))
            out.append(ReviewComment(n["author"]["username"], n["body"], path=position.get("new_path"),
                                     line=position.get("new_line"), created_at=n.get("created_at") or "",
                                     kind="inline" if position else "comment"))
        return out

    @forge_errors_only("GitLab")
    def review_feedback(self, pr: PullRequest) -> ReviewFeedback:
        """The MR's notes, split into those by members who may push (Developer or above, or configured
        reviewers) and the rest."""
        return self.trust.split(self.comments(pr))

    @forge_errors_only("GitLab")
    def feedback(self, pr: PullRequest) -> list[str]:
        """What reaches the agent: trusted notes only (the others are logged once and ignored)."""
        return [str(c) for c in self.review_feedback(pr).trusted]

    @forge_errors_only("GitLab")
    def verify(self) -> str:
        """Ask GitLab who the token is and whether it may push to the project (what `doctor` shows)."""
        _, user = self._call("GET", "/user", "check the token", in_project=False)
        where = unquote(self.project)
        status, _ = self._call("GET", "", "read the project", allow=(404,))
        if status == 404:
            raise ForgeError(f"GitLab: {user['username']}'s token cannot see {where} (404); check the remote URL "
                             "and the token's scopes (api).")
        if not self._may_write(user["username"]):
            raise ForgeError(f"GitLab: {user['username']} has less than Developer access to {where}; "
                             "the token cannot push branches or open merge requests.")
        return f"gitlab: signed in as {user['username']}, may write to {where}"

    def _may_write(self, username: str) -> bool:
        """Whether ``username`` is a project member (direct or inherited) with Developer access (30) or more."""
        ids = self._user_ids([username])
        if not ids:
            return False
        status, member = self._call("GET", f"/members/all/{ids[0]}", f"read {username}'s membership", allow=(404,))
        return status != 404 and int(member.get("access_level", 0)) >= DEVELOPER

    @forge_errors_only("GitLab")
    def comment(self, pr: PullRequest, body: str) -> None:
        self._call("POST", f"/merge_requests/{pr.number}/notes", "comment on the merge request", json={"body": body})


class _NotJson(str):
    """A body that is not JSON (an HTML error page): kept for the message, refused as data."""
