"""Rule globs (`**/.ssh/**`, `**/*.pem`) as regular expressions: the one translation of a glob.

`**/` matches any number of leading directories (none included), `**` anything, `*` and `?` stay
within one path segment. The engine matches paths forward; the rule index matches them reversed
(a glob ends in a literal name, so in one folded regex most alternatives fail on the first character),
and both come from the same tokens, so the two can never disagree on what a glob matches.
"""

from __future__ import annotations

import re

#: token → (regex forward, regex of the same token read backwards)
_TOKENS = {"**/": ("(?:.*/)?", "(?:/.*)?"), "**": (".*", ".*"), "*": ("[^/]*", "[^/]*"), "?": ("[^/]", "[^/]")}


def _tokens(glob: str) -> list[str]:
    out, i = [], 0
    while i < len(glob):
        token = next((t for t in ("**/", "**", "*", "?") if glob.startswith(t, i)), glob[i])
        out.append(token)
        i += len(token)
    return out


def glob_source(glob: str, *, reverse: bool = False) -> str:
    """The regex body matching a path that ``glob`` matches — or, with ``reverse``, the path read backwards:
    `**/*.pem` → `(?:.*/)?[^/]*\\.pem`, reversed `mep\\.[^/]*(?:/.*)?`."""
    tokens = _tokens(glob)
    if reverse:
        tokens.reverse()
    return "".join(_TOKENS[t][reverse] if t in _TOKENS else re.escape(t) for t in tokens)


def segment_lead(glob: str) -> str | None:
    """A character every path ``glob`` matches has at the start of one of its segments, or None when the glob
    does not say (it starts with a wildcard or a `/`): `**/.ssh/**` → `.`, `dev/sd*` → `d`, `**/*.pem` → None."""
    tokens = _tokens(glob)
    at = 1 if tokens[:1] == ["**/"] else 0
    first = tokens[at] if at < len(tokens) else "/"
    return None if first in _TOKENS or first == "/" else first


def glob_regex(glob: str) -> re.Pattern[str]:
    """``glob`` compiled to match a whole path."""
    return re.compile(f"^{glob_source(glob)}$")
