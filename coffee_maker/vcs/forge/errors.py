"""Typed forge failures the daemon reacts to differently from a plain ``ForgeError``.

A rate limit is not a failure of the work: the daemon should wait until the forge says
it may call again, and carry on. GitHub signals it with 403 or 429 and
``x-ratelimit-remaining: 0`` + ``x-ratelimit-reset`` (epoch seconds) for the primary limit,
or ``retry-after`` (seconds) for a secondary limit; GitLab with 429, ``Retry-After`` and
``RateLimit-Reset``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from typing import ParamSpec, TypeVar

from coffee_maker.errors import ForgeError

# GitHub's documented advice for a secondary rate limit that names no time: wait at least a minute.
DEFAULT_RATE_LIMIT_WAIT_S = 60.0

P = ParamSpec("P")
R = TypeVar("R")


class ForgeRateLimited(ForgeError):
    """The forge refused a call for now; ``retry_at`` (epoch seconds, like ``time.time()``) is when to try again."""

    def __init__(self, message: str, *, retry_at: float) -> None:
        super().__init__(message)
        self.retry_at = retry_at

    def retry_in_s(self, now: float | None = None) -> float:
        """Seconds from ``now`` until the forge accepts calls again (0 when that time has passed)."""
        return max(0.0, self.retry_at - (time.time() if now is None else now))


def rate_limit_from(forge: str, status: int, headers: Mapping[str, str], message: str = "",
                    *, now: float | None = None) -> ForgeRateLimited | None:
    """The rate-limit error this answer means, or None when it is not one (``headers`` lower-cased)."""
    if status not in (403, 429):
        return None
    now = time.time() if now is None else now
    retry_at: float | None = None
    retry_after = _number(headers.get("retry-after"))
    reset = _number(headers.get("x-ratelimit-reset") or headers.get("ratelimit-reset"))
    exhausted = (headers.get("x-ratelimit-remaining") or headers.get("ratelimit-remaining")) == "0"
    if retry_after is not None:
        retry_at = now + retry_after
    elif exhausted and reset is not None:
        retry_at = reset
    elif status == 429 or exhausted or "rate limit" in message.lower():
        retry_at = now + DEFAULT_RATE_LIMIT_WAIT_S
    if retry_at is None:
        return None  # a plain 403: no permission
    when = time.strftime("%H:%M:%S UTC", time.gmtime(retry_at))
    wait = max(0.0, retry_at - now)
    return ForgeRateLimited(f"{forge} rate limit reached ({status}); calls resume at {when} "
                            f"(in {_duration(wait)}).", retry_at=retry_at)


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


def forge_errors_only(forge: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a polling method: an answer of an unexpected shape becomes a ForgeError, never a KeyError."""

    def decorate(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(*args, **kwargs)
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
                raise ForgeError(f"{forge} answered {method.__name__} with data of an unexpected shape "
                                 f"({type(exc).__name__}: {exc}); is [forge] api_url right?") from None

        return wrapper

    return decorate
