"""From what an agent CLI reported to a :class:`SessionOutcome` kind — shared by every backend.

Why one place: the daemon acts differently on each kind (sleep until a reset time on a
usage limit, stop and alert on an auth failure, retry later on overload), so every
backend must classify the same texts the same way.

Texts seen from Claude Code: ``Claude AI usage limit reached|1767225600`` (older CLIs),
``You've hit your limit · resets 3pm (Europe/Paris)``, ``5-hour limit reached ∙ resets 3pm``,
``API Error: Request rejected (429) · …``, ``API Error: 529 Overloaded…``,
``Invalid API key · Fix external API key``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from coffee_maker.types import OutcomeKind

USAGE_LIMIT_RE = re.compile(
    r"usage limit|hit your (?:[\w-]+ )?limit|(?:5-hour|five.hour|weekly|daily|opus|session) limit|"
    r"limit reached|out of (?:usage|credits|extra usage)|spend limit", re.IGNORECASE)
RATE_LIMIT_RE = re.compile(r"\b429\b|rate.?limit|too many requests", re.IGNORECASE)
OVERLOADED_RE = re.compile(r"\b529\b|overloaded", re.IGNORECASE)
AUTH_RE = re.compile(
    r"\b401\b|invalid api key|authentication|not logged in|please run /login|oauth token|"
    r"invalid x-api-key|unauthori[sz]ed", re.IGNORECASE)

_SESSION_GONE_RE = re.compile(r"no conversation found|session (?:id )?not found|no (?:such )?session", re.IGNORECASE)

_EPOCH_RE = re.compile(r"\|\s*(\d{9,11})\b")
_RESETS_RE = re.compile(
    r"resets?\s+(?:at\s+)?(?:(?P<month>[A-Z][a-z]{2})\s+(?P<day>\d{1,2}),?\s*(?:at\s+)?)?"
    r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>am|pm)?(?:\s*\((?P<tz>[^)]+)\))?",
    re.IGNORECASE)
_RESETS_IN_RE = re.compile(r"(?:resets|try again|retry) in\s+(?:(\d+)\s*h\w*)?\s*(?:(\d+)\s*m\w*)?", re.IGNORECASE)
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}


_LIMIT_NOTICE_RE = re.compile(
    r"^\s*(?:Claude AI usage limit reached|You've hit your [\w -]*limit|[\w-]+ limit reached\s*[∙·|]|"
    r"Usage limit reached)", re.IGNORECASE)


def is_limit_notice(text: str) -> bool:
    """A final text that *is* a usage-limit notice (some CLI versions report it as a normal result)."""
    return len(text) < 300 and bool(_LIMIT_NOTICE_RE.match(text))


def session_not_found(text: str) -> bool:
    """The CLI could not resume: the session it was given does not exist (never saved, or deleted)."""
    return bool(_SESSION_GONE_RE.search(text))


def classify_error(text: str, status: int | None = None) -> OutcomeKind:
    """The kind of a failed turn, from the HTTP status the CLI reports and its text."""
    if status == 401 or status == 403 or AUTH_RE.search(text):
        return OutcomeKind.AUTH_FAILED
    if USAGE_LIMIT_RE.search(text):
        return OutcomeKind.USAGE_LIMIT
    if status == 529 or OVERLOADED_RE.search(text):
        return OutcomeKind.OVERLOADED
    if status == 429 or RATE_LIMIT_RE.search(text):
        return OutcomeKind.RATE_LIMIT
    return OutcomeKind.ERROR


def parse_reset(text: str, now: datetime | None = None) -> datetime | None:
    """When a usage/rate limit resets, if the text says (``|<epoch>``, ``resets 3pm (TZ)``, ``resets in 2h``).

    A clock time without a date means its next occurrence; without a zone, UTC.
    """
    now = now or datetime.now(UTC)
    match = _EPOCH_RE.search(text)
    if match:
        return datetime.fromtimestamp(int(match.group(1)), UTC)
    match = _RESETS_IN_RE.search(text)
    if match and (match.group(1) or match.group(2)):
        return now + timedelta(hours=int(match.group(1) or 0), minutes=int(match.group(2) or 0))
    match = _RESETS_RE.search(text)
    if not match:
        return None
    hour, minute = int(match.group("hour")), int(match.group("minute") or 0)
    ampm = (match.group("ampm") or "").lower()
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59 or (not ampm and not match.group("minute") and not match.group("month")):
        return None  # a bare number is not a time
    zone: ZoneInfo | None = None
    if match.group("tz"):
        try:
            zone = ZoneInfo(match.group("tz").strip())
        except (ZoneInfoNotFoundError, ValueError):
            zone = None
    local_now = now.astimezone(zone or UTC)
    month_name = (match.group("month") or "").lower()
    if month_name in _MONTHS:
        candidate = local_now.replace(month=_MONTHS[month_name], day=int(match.group("day")),
                                      hour=hour, minute=minute, second=0, microsecond=0)
        if candidate < local_now:
            candidate = candidate.replace(year=candidate.year + 1)
    else:
        candidate = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if candidate <= local_now:
            candidate += timedelta(days=1)
    return candidate.astimezone(UTC)


def final_question(text: str) -> str | None:
    """The question a final text ends with (its last paragraph ends with '?'), else None."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    if not paragraphs:
        return None
    last = paragraphs[-1].rstrip("*_` \t")
    return paragraphs[-1] if last.endswith("?") else None
