"""Where a path a request names points: resolved against the worktree, inside it or not.

Relative paths are taken from the directory the command runs in (the worktree's top, or where
`cd` led), `~` and `$HOME` are expanded, symlinks followed; a path in the person's own checkout is
outside, since only the worktree is inside. A 4 KB command names the same paths and directories
again and again, so within one request (``one_request``) each is looked up once.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_NEUTRAL = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "-"})


# Not frozen (read-only by convention): built per path, like shell.SimpleCommand — see there why.
@dataclass(slots=True)
class PathUse:
    """A path a request reads or writes: as written, resolved, and relative to the worktree when inside."""

    raw: str
    resolved: str
    inside: bool
    write: bool
    known: bool = True  # False: built from a variable or after an unknown `cd` — where it points is not known


class PathResolver:
    """Resolves paths relative to one worktree root."""

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.realpath(root))
        self._root_text = self.root.as_posix()
        self._dirs: dict[str, tuple[str, bool]] = {}
        self._request = threading.local()  # what one request already looked up (see `_memo`)

    def _memo(self) -> dict[Any, Any] | None:
        """Lookups of the request being built on this thread: a 4 KB command names the same paths and
        directories again and again, and within one request the file system is taken as it was at the start."""
        memo: dict[Any, Any] | None = getattr(self._request, "memo", None)
        return memo

    def resolve(self, raw: str, cwd: str | None, *, write: bool, known: bool = True) -> PathUse:
        memo = self._memo()
        if memo is None:
            return self._resolve(raw, cwd, write=write, known=known)
        key = (raw, cwd, write, known)
        use = memo.get(key)
        if use is None:
            use = memo[key] = self._resolve(raw, cwd, write=write, known=known)
        return use

    def _resolve(self, raw: str, cwd: str | None, *, write: bool, known: bool) -> PathUse:
        expanded = expand_home(raw)
        if expanded in _NEUTRAL or expanded.startswith("/dev/fd/"):
            return PathUse(raw, expanded, True, False)
        if not expanded.startswith("/") and cwd is None:
            return PathUse(raw, raw, False, write, known=False)
        if expanded.startswith("/"):
            joined = expanded
        elif cwd is None or cwd == ".":
            joined = f"{self._root_text}/{expanded}"
        else:
            joined = f"{cwd}/{expanded}" if cwd.startswith("/") else f"{self._root_text}/{cwd}/{expanded}"
        if "/./" in joined or "//" in joined or joined.endswith(("/.", "/")):
            joined = os.path.normpath(joined)
        full = self._real(joined)
        if full == self._root_text:
            return PathUse(raw, ".", True, write, known)
        if full.startswith(self._root_text + "/"):
            return PathUse(raw, full[len(self._root_text) + 1:], True, write, known)
        return PathUse(raw, full, False, write, known)

    def _real(self, path: str) -> str:
        """`os.path.realpath`, remembering existing directories' real paths (they rarely change)."""
        return self._real_exists(path)[0]

    def _real_exists(self, path: str) -> tuple[str, bool]:
        """(real path, exists?): nothing below a missing directory can be a symlink, so it is not looked up."""
        memo = self._memo()
        if memo is None:
            return self._lookup(path)
        found = memo.get(path)
        if found is None:
            found = memo[path] = self._lookup(path)
        return found

    def _lookup(self, path: str) -> tuple[str, bool]:
        if ".." in path and ".." in path.split("/"):  # the substring test first: nearly no path holds `..`
            real = os.path.realpath(path)
            return real, os.path.lexists(real)
        parent, _, name = path.rpartition("/")
        parent = parent or "/"
        if not name:
            return path, True
        known = self._dirs.get(parent)
        if known is None:
            known = self._real_exists(parent)
            if len(self._dirs) < 4096 and known[1] and os.path.isdir(known[0]):
                self._dirs[parent] = known
        candidate = f"{known[0]}/{name}" if known[0] != "/" else f"/{name}"
        if not known[1]:
            return candidate, False
        try:  # one `lstat` tells both whether it exists and whether it is a symlink to follow
            mode = os.lstat(candidate).st_mode
        except (OSError, ValueError):
            return candidate, False
        if stat.S_ISLNK(mode):
            real = os.path.realpath(candidate)
            return real, os.path.lexists(real)
        return candidate, True

    @contextlib.contextmanager
    def one_request(self) -> Iterator[None]:
        """Within the block, each path and directory is looked up once (an inner block shares the outer's)."""
        outer = self._memo()
        if outer is None:
            self._request.memo = {}
        try:
            yield
        finally:
            if outer is None:
                self._request.memo = None


def expand_home(raw: str) -> str:
    if raw[:1] not in "$~":  # nearly every path ("" takes the long way)
        return raw
    for prefix in ("$HOME", "${HOME}"):
        if raw == prefix or raw.startswith(prefix + "/"):
            return os.path.expanduser("~") + raw[len(prefix):]  # read each time: HOME can change
    return os.path.expanduser(raw) if raw.startswith("~") else raw
