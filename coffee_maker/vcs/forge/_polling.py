"""What makes polling a forge cheap and safe: conditional requests, bounded retries, counters.

- **ETag**: the last answer to each GET is remembered with its ETag and the next GET of that
  URL sends ``If-None-Match``. An unchanged answer is a bodyless 304, which GitHub does not
  count against the rate limit — twenty idle PRs then cost next to nothing (bench/bench_forge_polling.py).
- **Retries**: a 5xx or a rate limit is retried inside the provider with exponential back-off
  (bounded); a rate-limit wait longer than ``max_rate_wait_s``, or retries used up, surface as
  ``ForgeRateLimited`` with the time to try again, so the daemon waits instead of failing an attempt.
- **Counters**: ``RequestStats`` says what polling cost (requests, 304s, retries, rate left).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import structlog

from coffee_maker.vcs.forge.errors import ForgeRateLimited, rate_limit_from

log = structlog.get_logger(__name__)

RETRIED_STATUSES = frozenset({500, 502, 503, 504})


class Answer(NamedTuple):
    """One HTTP answer: status, decoded JSON body, lower-cased headers."""

    status: int
    data: Any
    headers: dict[str, str]


@dataclass
class RequestStats:
    """What a provider's calls cost; ``counted`` is what the forge counts against the rate limit."""

    requests: int = 0
    not_modified: int = 0  # answered 304 from the ETag cache
    retries: int = 0
    rate_remaining: int | None = None  # as the forge last reported it
    rate_reset: float | None = None

    @property
    def counted(self) -> int:
        return self.requests - self.not_modified


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_s: float = 1.0
    max_backoff_s: float = 30.0
    max_rate_wait_s: float = 90.0  # a longer rate-limit wait is the daemon's to sit out, not a provider call's

    def backoff(self, attempt: int) -> float:
        return min(self.max_backoff_s, self.base_s * 2.0 ** attempt)


class ETagCache:
    """The last answer per URL with its ETag, least recently used evicted first."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[str, Any]] = OrderedDict()

    def etag(self, key: str) -> str | None:
        item = self._items.get(key)
        return item[0] if item else None

    def data(self, key: str) -> Any:
        self._items.move_to_end(key)
        return self._items[key][1]

    def store(self, key: str, etag: str, data: Any) -> None:
        self._items[key] = (etag, data)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


class Poller:
    """Sends one logical request: conditional when it is a GET, retried while the forge is busy."""

    def __init__(self, forge: str, *, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.forge, self.policy, self.sleep = forge, policy or RetryPolicy(), sleep
        self.stats = RequestStats()
        self.cache = ETagCache()

    def request(self, method: str, key: str, send: Callable[[dict[str, str]], Answer], message_of: Callable[[Answer], str]
                ) -> Answer:
        """``send(extra_headers)`` performs the HTTP call; ``key`` identifies the URL (path and query)."""
        for attempt in range(self.policy.attempts):
            etag = self.cache.etag(key) if method == "GET" else None
            answer = send({"If-None-Match": etag} if etag else {})
            self._count(answer)
            if answer.status == 304 and etag is not None:
                self.stats.not_modified += 1
                return Answer(200, self.cache.data(key), answer.headers)
            last = attempt == self.policy.attempts - 1
            limited = rate_limit_from(self.forge, answer.status, answer.headers, message_of(answer))
            if limited is not None:
                if last or limited.retry_in_s() > self.policy.max_rate_wait_s:
                    raise limited
                self._wait(max(limited.retry_in_s(), self.policy.backoff(attempt)), key, answer.status)
                continue
            if answer.status in RETRIED_STATUSES:
                if last:
                    wait = self.policy.backoff(attempt + 1)
                    raise ForgeRateLimited(f"{self.forge} answered {answer.status} {self.policy.attempts} times in a "
                                           f"row ({key}); it is having trouble, trying again in {wait:.0f} s.",
                                           retry_at=time.time() + wait)
                self._wait(self.policy.backoff(attempt), key, answer.status)
                continue
            if method == "GET" and answer.status == 200 and answer.headers.get("etag"):
                self.cache.store(key, answer.headers["etag"], answer.data)
            return answer
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _count(self, answer: Answer) -> None:
        self.stats.requests += 1
        remaining = answer.headers.get("x-ratelimit-remaining") or answer.headers.get("ratelimit-remaining")
        reset = answer.headers.get("x-ratelimit-reset") or answer.headers.get("ratelimit-reset")
        if remaining is not None and remaining.isdigit():
            self.stats.rate_remaining = int(remaining)
        if reset is not None and reset.isdigit():
            self.stats.rate_reset = float(reset)

    def _wait(self, seconds: float, key: str, status: int) -> None:
        self.stats.retries += 1
        log.info("forge busy; retrying", forge=self.forge, status=status, url=key, wait_s=round(seconds, 1))
        self.sleep(seconds)
