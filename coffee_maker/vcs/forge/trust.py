"""Whose review comments may steer the agent: people the forge says may write, and the configured reviewers.

On a public project anyone can comment on a pull request. A comment handed to the agent
is an instruction it follows (it writes and pushes what it is asked), so feedback from
someone without write access is logged and ignored, never passed on. Permissions are
asked of the forge and remembered for a few minutes: the daemon reads feedback every poll.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import structlog

from coffee_maker.types import ReviewComment

log = structlog.get_logger(__name__)

PERMISSION_TTL_S = 300.0


class Authored(Protocol):
    @property
    def author(self) -> str: ...
    @property
    def body(self) -> str: ...


A = TypeVar("A", bound=Authored)


@dataclass(frozen=True)
class ReviewFeedback:
    """A PR's comments split by author: ``trusted`` reach the agent, ``ignored`` are only logged."""

    trusted: list[ReviewComment] = field(default_factory=list)
    ignored: list[ReviewComment] = field(default_factory=list)


class ReviewerTrust:
    """Decides per author, asking ``may_write(author)`` of the forge at most once per ``ttl_s``.

    With ``allowed`` ([forge] reviewers_allowed) set, exactly those people and the configured
    reviewers are trusted, and the forge is not asked.
    """

    def __init__(self, forge: str, may_write: Callable[[str], bool], configured: Sequence[str],
                 *, ttl_s: float = PERMISSION_TTL_S, allowed: Sequence[str] | None = None) -> None:
        self.forge, self.may_write, self.ttl_s = forge, may_write, ttl_s
        self.configured = {name.lower() for name in configured}
        self.allowed_only = None if allowed is None else {name.lower() for name in allowed}
        self._known: dict[str, tuple[bool, float]] = {}
        self._logged: set[tuple[str, str, str]] = set()

    def trusts(self, author: str) -> bool:
        key = author.lower()
        if key in self.configured:
            return True
        if self.allowed_only is not None:
            return key in self.allowed_only
        cached = self._known.get(key)
        if cached is not None and time.monotonic() - cached[1] < self.ttl_s:
            return cached[0]
        allowed = self.may_write(author)
        self._known[key] = (allowed, time.monotonic())
        return allowed

    def split(self, comments: Iterable[ReviewComment]) -> ReviewFeedback:
        """Sort comments into trusted and ignored; each ignored comment is logged once."""
        feedback = ReviewFeedback()
        for c in comments:
            (feedback.trusted if self.trusts(c.author) else feedback.ignored).append(c)
        for c in feedback.ignored:
            key = (c.author, c.created_at, c.body)
            if key not in self._logged:
                self._logged.add(key)
                log.warning("review comment ignored: its author may not write to the repository",
                            forge=self.forge, author=c.author, kind=c.kind, comment=c.body[:80])
        return feedback

    def allowed(self, items: Iterable[A]) -> list[A]:
        """Only what trusted people wrote (review threads, comments); the rest is logged once and dropped."""
        kept = []
        for item in items:
            if self.trusts(item.author):
                kept.append(item)
                continue
            key = (item.author, "", item.body)
            if key not in self._logged:
                self._logged.add(key)
                log.warning("review thread ignored: its author is not allowed to steer the agent",
                            forge=self.forge, author=item.author, comment=item.body[:80])
        return kept
