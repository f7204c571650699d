"""First-match over many rules without trying each one: one combined regex per kind of rule.

Why: a 4 KB command has ~200 simple commands and the engine ~200 rules; trying every rule on
every part costs milliseconds. Rules that match only on the command text and are anchored (`^git\\s+push`)
are bucketed by the characters they can start with, so a part is tried against the handful that
can match it; path-only rules are folded into one regex per (access, inside) pair, matched against
the reversed path (globs end in a literal name, so most alternatives fail on the first character). The few rules
with checks are tried one by one. What a regex can start with is read in ``regex_shape.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from coffee_maker.rules.globs import glob_source, segment_lead
from coffee_maker.rules.paths import PathUse
from coffee_maker.rules.regex_shape import (
    compiled,
    first_chars,
    is_anchored,
    scoped_flags,
    top_branches,
)
from coffee_maker.rules.subject import CommandSubject

_UNSAFE = re.compile(r"\\[1-9]|\(\?P[<=]|\(\?[aiLmsux-]+\)")  # backreferences, named groups, global flags
_MULTILINE = re.compile(r"\(\?[aiLsux]*m")  # `^` could match after a newline: cannot be tried with `match`


@dataclass
class _PathGroup:
    """The path rules of one (access, inside) pair, as folded regexes over the reversed path.

    Why not one regex: most globs start with `**/` and end in `**` or `*` (`**/.ssh/**`, `**/id_rsa*`), so
    reversed they start with `.*` and every one of them backtracks over the whole path. But such a glob can
    only match a path one of whose segments starts with its first literal character (`.` for `**/.ssh/**`),
    so only the rules whose character starts one of the path's segments are folded into the regex tried.
    """

    alternatives: list[tuple[int, str, str | None]]  # (rule, reversed regex, segment lead or None: always tried)
    leads: frozenset[str] = frozenset()
    _folded: dict[frozenset[str], re.Pattern[str] | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.leads = frozenset(lead for _, _, lead in self.alternatives if lead is not None)
        for chars in [frozenset(), *(frozenset({c}) for c in self.leads)]:  # the usual cases, compiled at build
            self.folded(chars)

    def folded(self, starts: frozenset[str]) -> re.Pattern[str] | None:
        """The rules that can match a path whose segments start with ``starts``, in rule order (None: no rule)."""
        key = self.leads & starts
        if key not in self._folded:
            group = [(i, p) for i, p, lead in self.alternatives if lead is None or lead in key]
            if len(self._folded) >= 256:  # bounded: each key is a set of the rules' lead characters
                self._folded.clear()
            self._folded[key] = compiled("(?:" + "|".join(f"(?P<r{i}>{p})" for i, p in group) + ")") \
                if group else None
        return self._folded[key]


class _Rule(Protocol):
    @property
    def command(self) -> re.Pattern[str] | None: ...
    @property
    def path(self) -> re.Pattern[str] | None: ...


@dataclass
class RuleIndex:
    """The first matching rule for a shell part, in rule order."""

    anchored: list[tuple[int, str, frozenset[str] | None]]  # rules whose every branch starts with `^`
    paths: dict[tuple[str | None, bool | None], _PathGroup]  # matched against the reversed path
    others: list[int]  # rules tried one by one (checks, mixed conditions, patterns that cannot be folded)
    first_path_rule: int
    _by_char: dict[str, list[int]] = field(default_factory=dict)
    _folded_by_char: dict[str, re.Pattern[str] | None] = field(default_factory=dict)
    _by_path: dict[tuple[str, bool, bool, bool], int | None] = field(default_factory=dict)
    _by_text: dict[str, int | None] = field(default_factory=dict)  # the anchored rules' verdict on a text
    _floating_by_text: dict[str, bool] = field(default_factory=dict)  # "no floating rule can match this text"
    floating: frozenset[int] = frozenset()  # rules searched one by one, after one search over them all says yes
    gated: frozenset[int] = frozenset()  # rules with a built-in check: none can match a part the checks call inert
    #: ``others`` without the floating rules (when no floating rule can match) and/or the gated ones (inert part)
    _others_for: dict[tuple[bool, bool], list[int]] = field(default_factory=dict)
    any_floating: re.Pattern[str] | None = None  # searched: the floating rules' branches not anchored with `^`
    any_floating_start: re.Pattern[str] | None = None  # matched at 0: their branches anchored with `^`
    #: every path group's segment leads, with `/` before each: what ``_segment_leads`` looks for
    leads: tuple[tuple[str, str], ...] = ()

    def commands_for(self, ch: str) -> list[int]:
        """The anchored rules that can match a text starting with ``ch``, in order."""
        found = self._by_char.get(ch)
        if found is None:
            found = self._by_char[ch] = [i for i, _, chars in self.anchored if chars is None or ch in chars]
        return found

    def folded_for(self, ch: str) -> re.Pattern[str] | None:
        """The anchored rules for ``ch`` as one regex, alternatives in rule order (None: try them one by one).

        Every alternative starts with `^`, so `match` at 0 is the same as each rule's `search`, and the
        regex engine tries alternatives left to right: the group that matches is the first rule that does.
        Built for every first character the rules name when the index is built (compiled once per process).
        """
        if ch not in self._folded_by_char:
            sources = {i: p for i, p, _ in self.anchored}
            group = [(i, sources[i]) for i in self.commands_for(ch)]
            if not group or any(_MULTILINE.search(p) for _, p in group):
                self._folded_by_char[ch] = None
            else:
                self._folded_by_char[ch] = compiled("|".join(f"(?P<r{i}>{p})" for i, p in group))
        return self._folded_by_char[ch]

    def first_anchored(self, cmd: CommandSubject, matches: Sequence[Callable[[CommandSubject], bool]]) -> int | None:
        text = cmd.text
        if text in self._by_text:  # `tail -5`, `sort`, `git status` come back part after part
            return self._by_text[text]
        folded = self.folded_for(text[:1])
        if folded is None:
            return next((i for i in self.commands_for(text[:1]) if matches[i](cmd)), None)
        found = folded.match(text)
        index = int(found.lastgroup[1:]) if found is not None and found.lastgroup else None
        if len(self._by_text) >= 8192:  # bounded, like the paths'
            self._by_text.clear()
        self._by_text[text] = index  # the folded regex looks at the text alone
        return index

    @classmethod
    def build(cls, rules: Sequence[object], kinds: Sequence[str], command_sources: Sequence[str | None],
              path_sources: Sequence[str | None], access: Sequence[str | None], inside: Sequence[bool | None],
              gated: Sequence[bool] = ()) -> RuleIndex:
        """``kinds[i]`` is "command" (text only), "path" (glob only) or "other"; ``gated[i]``: rule i has a
        built-in check, so it cannot match an inert part."""
        commands: list[tuple[int, str]] = []
        paths: dict[tuple[str | None, bool | None], list[tuple[int, str, str | None]]] = {}
        others: list[int] = []
        for i, kind in enumerate(kinds):
            source = command_sources[i]
            if kind == "command" and source is not None and not _UNSAFE.search(scoped_flags(source)):
                commands.append((i, scoped_flags(source)))
            elif kind == "path" and path_sources[i] is not None:
                glob = str(path_sources[i])
                paths.setdefault((access[i], inside[i]), []).append((i, glob_source(glob, reverse=True),
                                                                      segment_lead(glob)))
            else:
                others.append(i)
        folded = {key: _PathGroup(group) for key, group in paths.items()}
        first_path = min((i for group in paths.values() for i, _, _ in group), default=len(kinds))
        anchored = [(i, p, first_chars(p)) for i, p in commands if is_anchored(p)]
        floating = [(i, p) for i, p in commands if not is_anchored(p)]
        index = cls(anchored, folded, sorted(others + [i for i, _ in floating]), first_path)
        index.leads = tuple((c, "/" + c) for c in sorted({c for group in folded.values() for c in group.leads}))
        index.floating = frozenset(i for i, _ in floating)
        index.gated = frozenset(i for i, g in enumerate(gated) if g)
        for skip_floating in (False, True):
            for inert in (False, True):
                index._others_for[skip_floating, inert] = [
                    i for i in index.others
                    if not (skip_floating and i in index.floating) and not (inert and i in index.gated)]
        for ch in sorted({"", *(c for _, _, chars in anchored if chars is not None for c in chars)}):
            index.folded_for(ch)
        # "does any floating rule match?": its branches that start with `^` need one `match`, not a search
        branches = [b for _, p in floating for b in top_branches(p)]
        starts = [b for b in branches if b.startswith("^") and not _MULTILINE.search(b)]
        rest = [b for b in branches if b not in starts]
        index.any_floating_start = compiled("|".join(f"(?:{b})" for b in starts)) if starts else None
        index.any_floating = compiled("|".join(f"(?:{b})" for b in rest)) if rest else None
        return index

    def first_path(self, use: PathUse) -> int | None:
        """The first path rule matching ``use``, remembered: `src`, `.` and `tests/` come back part after part."""
        key = (use.resolved, use.write, use.inside, "*" in use.raw)
        if key in self._by_path:
            return self._by_path[key]
        best: int | None = None
        starts: frozenset[str] | None = None
        for (access, inside), group in self.paths.items():
            if not _filters(use, access, inside):
                continue
            if starts is None:
                forward = use.resolved.replace("*", "") if "*" in use.raw else use.resolved  # as _path_texts reads it
                starts = _segment_leads(forward, self.leads)
            pattern = group.folded(starts)
            if pattern is None:
                continue
            for text in _path_texts(use):
                found = pattern.fullmatch(text)
                if found is not None and found.lastgroup:
                    index = int(found.lastgroup[1:])
                    best = index if best is None else min(best, index)
        if len(self._by_path) >= 8192:  # bounded: one long-lived engine sees every path an agent names
            self._by_path.clear()
        self._by_path[key] = best
        return best

    def first(self, cmd: CommandSubject, matches: Sequence[Callable[[CommandSubject], bool]], inert: bool = False
              ) -> int | None:
        """Index of the first rule matching ``cmd``; ``matches[i]`` decides rule i when it is in ``others``.

        ``inert``: no built-in check can hold for ``cmd`` (``checks.inert``), so the gated rules are skipped."""
        best = self.first_anchored(cmd, matches)  # only rules that can start with this character
        if cmd.paths and (best is None or best > self.first_path_rule):
            for use in cmd.paths:
                index = self.first_path(use)
                if index is not None and (best is None or index < best):
                    best = index
        skip_floating = self._floating_by_text.get(cmd.text)
        if skip_floating is None:
            skip_floating = (self.any_floating_start is None or self.any_floating_start.match(cmd.text) is None) and (
                self.any_floating is None or self.any_floating.search(cmd.text) is None)
            if len(self._floating_by_text) >= 8192:
                self._floating_by_text.clear()
            self._floating_by_text[cmd.text] = skip_floating
        for i in self._others_for[skip_floating, inert]:
            if best is not None and i > best:
                break
            if matches[i](cmd):
                return i
        return best


def _segment_leads(path: str, leads: tuple[tuple[str, str], ...]) -> frozenset[str]:
    """The first characters of ``path``'s segments (of a long path, only the rules' leads: all ``folded`` uses).

    A long path gets a substring search per lead (a dozen, in C) rather than a split: a `cd` that holds
    across a long line nests directories, and a path of hundreds of segments cost ~15 µs to split."""
    if len(path) < 128:
        return frozenset(segment[0] for segment in path.split("/") if segment)
    return frozenset(c for c, after_slash in leads if path.startswith(c) or after_slash in path)


def _filters(use: PathUse, access: str | None, inside: bool | None) -> bool:
    if access is not None and use.write != (access == "write"):
        return False
    return inside is None or use.inside == inside


def _path_texts(use: PathUse) -> tuple[str, ...]:
    """The path as rules see it, reversed (relative inside the worktree; absolute, with and without `/`, outside)."""
    resolved = use.resolved.replace("*", "") if "*" in use.raw else use.resolved
    stripped = resolved.lstrip("/")
    return (stripped[::-1],) if stripped == resolved else (stripped[::-1], resolved[::-1])
