"""GitHub's transport, shared by the REST provider (httpx) and the `gh` provider (`gh api`).

Everything above it is written against ``_call`` / ``_get`` / ``_graphql`` / ``_stream``;
``_send`` (one HTTP exchange) is what the gh provider replaces.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlencode

import httpx

from coffee_maker.errors import ForgeError
from coffee_maker.vcs.forge._polling import RETRIED_STATUSES, Answer, Poller, RetryPolicy
from coffee_maker.vcs.forge.errors import ForgeRateLimited, rate_limit_from

HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
LOG_CHUNK_BYTES = 64 * 1024


class GitHubApi:
    name = "github"
    owner: str
    repo: str
    poller: Poller

    def __init__(self, api_url: str, owner: str, repo: str, token: str, *, timeout_s: float = 30.0,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.owner, self.repo, self.timeout_s = owner, repo, timeout_s
        self.client = httpx.Client(base_url=api_url.rstrip("/"), timeout=timeout_s, headers={
            **HEADERS, "Authorization": f"Bearer {token}", "User-Agent": "coffee-maker"})
        self.poller = Poller("GitHub", policy=retry, sleep=sleep)

    def _send(self, method: str, path: str, params: dict[str, str] | None, payload: Any,
              headers: dict[str, str] | None = None) -> Answer:
        try:
            response = self.client.request(method, path, params=params, json=payload, headers=headers)
        except httpx.HTTPError as exc:
            raise ForgeError(f"GitHub could not be reached ({type(exc).__name__}: {exc}).") from None
        try:
            data = response.json() if response.content else None
        except ValueError:
            data = {"message": response.text[:200]}
        return Answer(response.status_code, data, {k.lower(): v for k, v in response.headers.items()})

    def _call(self, method: str, path: str, what: str, *, params: dict[str, str] | None = None,
              payload: Any = None, allow: Sequence[int] = (), in_repo: bool = True) -> tuple[int, Any]:
        """One API call (under /repos/{owner}/{repo} unless ``in_repo`` is False), its failures as ForgeErrors."""
        full = f"/repos/{self.owner}/{self.repo}{path}" if in_repo else path
        key = full + (f"?{urlencode(params)}" if params else "")
        status, data, _ = self.poller.request(
            method, key, lambda extra: self._send(method, full, params, payload, extra or None), _message)
        message = _message(Answer(status, data, {}))
        if status == 401:
            raise ForgeError("GitHub refused the token (401): check GITHUB_TOKEN, [forge] token or `gh auth login`.")
        if status >= 400 and status not in allow:
            raise ForgeError(f"GitHub could not {what}: {status} {message}.")
        return status, data

    def _get(self, path: str, what: str, params: dict[str, str] | None = None) -> Any:
        return self._call("GET", path, what, params=params)[1]

    def _graphql(self, query: str, variables: dict[str, Any], what: str) -> dict[str, Any]:
        """A GraphQL call (POST /graphql); GitHub reports its errors in a 200 answer's ``errors``."""
        _, data = self._call("POST", "/graphql", what, payload={"query": query, "variables": variables}, in_repo=False)
        if not isinstance(data, dict) or data.get("errors"):
            errors = data.get("errors") if isinstance(data, dict) else data
            text = "; ".join(str(e.get("message", e)) for e in errors) if isinstance(errors, list) else str(errors)
            raise ForgeError(f"GitHub could not {what}: {text}.")
        return dict(data["data"])

    def _stream(self, path: str, what: str) -> Iterator[bytes]:
        """A download in chunks: GitHub answers 302 with a short-lived URL, fetched without our token."""
        full = f"/repos/{self.owner}/{self.repo}{path}"
        try:
            first = self.client.get(full)
            self.poller.stats.requests += 1
            if first.status_code in (301, 302, 303, 307, 308):
                with httpx.stream("GET", first.headers["location"], timeout=self.timeout_s) as download:
                    self.poller.stats.requests += 1
                    if download.status_code != 200:
                        raise ForgeError(f"GitHub could not {what}: the download answered {download.status_code}.")
                    yield from download.iter_bytes(LOG_CHUNK_BYTES)
                return
            limited = rate_limit_from("GitHub", first.status_code, {k.lower(): v for k, v in first.headers.items()},
                                      str(_json(first)))
            if limited is not None:
                raise limited
            if first.status_code in RETRIED_STATUSES:
                raise ForgeRateLimited(f"GitHub answered {first.status_code} to {what}; trying again shortly.",
                                       retry_at=time.time() + self.poller.policy.base_s * 8)
            if first.status_code == 410:
                raise ForgeError(f"GitHub could not {what}: the log has expired (410).")
            if first.status_code != 200:
                raise ForgeError(f"GitHub could not {what}: {first.status_code} {_message(Answer(0, _json(first), {}))}.")
            yield first.content
        except httpx.HTTPError as exc:
            raise ForgeError(f"GitHub could not {what} ({type(exc).__name__}: {exc}).") from None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:200]


def _message(answer: Answer) -> str:
    data = answer.data
    return str(data.get("message", "")) if isinstance(data, dict) else str(data)[:200]


def login_of(item: dict[str, Any]) -> str:
    return str((item.get("user") or {}).get("login", "unknown"))
