"""The shape of a rule's regex, read with the standard library's own parser: its top-level branches, whether
each is anchored with `^`, and which characters a match can start with (what the rule index buckets on)."""

from __future__ import annotations

import functools
import re
import re._parser as sre_parse  # the stdlib's own regex parser: which characters can a pattern start with?
from typing import Any


def top_branches(pattern: str) -> list[str]:
    """The top-level alternatives of a regex (`a|b(c|d)` → `a`, `b(c|d)`)."""
    out, depth, start, i, in_class = [], 0, 0, 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if pattern[i + 1:i + 2] == "]":
                i += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            out.append(pattern[start:i])
            start = i + 1
        i += 1
    return [*out, pattern[start:]]


def is_anchored(pattern: str) -> bool:
    return all(b.startswith("^") for b in top_branches(pattern))


@functools.lru_cache(maxsize=1024)
def compiled(pattern: str) -> re.Pattern[str]:
    """Folded patterns are the same for every engine of a process: compile each once."""
    return re.compile(pattern)


@functools.lru_cache(maxsize=4096)
def first_chars(pattern: str) -> frozenset[str] | None:
    """The characters a match of an anchored ``pattern`` can start with; None when any (or unsure)."""
    try:
        parsed = sre_parse.parse(pattern)
    except re.error:
        return None
    found = _seq(list(parsed))
    return None if found is None or found[1] else frozenset(found[0])


_Firsts = tuple[set[str], bool] | None  # (first characters, can be empty) or None: any character


def _seq(items: list[tuple[Any, Any]]) -> _Firsts:
    chars: set[str] = set()
    for item in items:
        found = _item(*item)
        if found is None:
            return None
        chars |= found[0]
        if not found[1]:
            return chars, False
    return chars, True


def _item(op: Any, av: Any) -> _Firsts:
    name = str(op)
    if name == "AT":
        return set(), True
    if name == "LITERAL":
        return {chr(av)}, False
    if name == "IN":
        chars: set[str] = set()
        for kind, value in av:
            if str(kind) == "LITERAL":
                chars.add(chr(value))
            elif str(kind) == "RANGE" and value[1] - value[0] < 128:
                chars.update(chr(c) for c in range(value[0], value[1] + 1))
            else:
                return None
        return chars, False
    if name == "SUBPATTERN":
        return None if av[1] & re.IGNORECASE else _seq(list(av[3]))
    if name == "BRANCH":
        union: set[str] = set()
        empty = False
        for branch in av[1]:
            found = _seq(list(branch))
            if found is None:
                return None
            union |= found[0]
            empty = empty or found[1]
        return union, empty
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        found = _seq(list(av[2]))
        return None if found is None else (found[0], found[1] or av[0] == 0)
    return None


def scoped_flags(pattern: str) -> str:
    """A leading `(?i)` becomes `(?i:…)`, which may sit inside an alternation."""
    found = re.match(r"^\(\?([aiLmsux]+)\)", pattern)
    return f"(?{found.group(1)}:{pattern[found.end():]})" if found else pattern
