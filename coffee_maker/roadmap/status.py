"""Reading a status from free text: the first marker in the text decides.

`📝 Complete documentation created` is planned (the 📝 comes first);
`MOSTLY COMPLETE` and `partial` are in progress.

Emoji saved as mojibake (UTF-8 bytes read as cp1252/cp1254 and written again, as in
the seed roadmap: `ğŸ“ Planned`) are read as the emoji they were; without that,
`ğŸ“ Complete documentation created` would read as complete.
"""

from __future__ import annotations

import re

from coffee_maker.types import Status

# Longer phrases first so "mostly complete" wins over "complete" at the same spot.
_MARKERS = re.compile(
    r"(📝|🔄|🚧|✅|⏸️?|"
    r"[ğð]Ÿ“\x9d?(?![^\x00-\x7f])|[ğð]Ÿ”„|[ğð]Ÿš§|âœ…|â¸(?:ï¸)?|"
    r"\bmostly\s+complete\b|\bpartial(?:ly)?\b|\bin[\s-]progress\b|\bplanned\b|"
    r"\bcompleted?\b|\bdone\b|\bblocked\b)",
    re.IGNORECASE,
)

_BY_MARKER = {
    "📝": Status.PLANNED,
    "🔄": Status.IN_PROGRESS,
    "🚧": Status.IN_PROGRESS,
    "✅": Status.COMPLETE,
    "⏸": Status.BLOCKED,
    "⏸️": Status.BLOCKED,
}
#: Mojibake tokens by their first two characters; None: the third character tells (📝 vs 🔄 vs 🚧).
_BY_MOJIBAKE = {"ğŸ": None, "ðŸ": None, "âœ": Status.COMPLETE, "â¸": Status.BLOCKED}
_MOJIBAKE_4 = {"“": Status.PLANNED, "”": Status.IN_PROGRESS, "š": Status.IN_PROGRESS}

#: What the editor writes for each status.
STATUS_TEXT = {
    Status.PLANNED: "📝 Planned",
    Status.IN_PROGRESS: "🔄 In Progress",
    Status.COMPLETE: "✅ Complete",
    Status.BLOCKED: "⏸️ Blocked",
}


def read_status(text: str) -> Status:
    """The status named by the first marker in ``text`` (UNKNOWN when there is none)."""
    match = _MARKERS.search(text)
    if match is None:
        return Status.UNKNOWN
    token = match.group(1)
    if token in _BY_MARKER:
        return _BY_MARKER[token]
    if token[:2] in _BY_MOJIBAKE:
        return _BY_MOJIBAKE[token[:2]] or _MOJIBAKE_4[token[2]]
    word = token.lower()
    if word.startswith(("mostly", "partial", "in")):
        return Status.IN_PROGRESS
    if word == "planned":
        return Status.PLANNED
    if word == "blocked":
        return Status.BLOCKED
    return Status.COMPLETE
