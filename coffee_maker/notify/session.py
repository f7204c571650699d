"""Who is waiting for a question: an asking session holds an flock for as long as it lives.

Why a lock file and not just a pid: the kernel drops an flock when its process
dies — a clean stop, a crash, SIGKILL — so "is anyone still waiting?" is answered
by trying the lock, never by trusting a pid that may have been reused (the same
idea as the daemon's own lock, ``daemon/lock.py``). One file per session, named by
a random token, in ``<inbox dir>/inbox-sessions/``; the pid inside is for people.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from pathlib import Path

SESSIONS_DIR = "inbox-sessions"


class InboxSession:
    """One asking process's claim on its questions; ``close()`` (or death) ends it."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.token = secrets.token_hex(8)
        self.pid = os.getpid()
        self.path = directory / f"{self.token}.lock"
        # Locked under a temporary name, then renamed: a sweep by another process never sees it unlocked.
        staging = directory / f"{self.token}.new"
        fd = os.open(staging, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a fresh random file: nobody else can hold it
        os.pwrite(fd, f"{self.pid}\n".encode(), 0)
        os.replace(staging, self.path)
        self._fd: int | None = fd
        _sweep(directory, keep=self.path)

    @property
    def alive(self) -> bool:
        return self._fd is not None

    def close(self) -> None:
        """The session ends: its questions are no longer waited for."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


def session_alive(directory: Path, token: str | None) -> bool:
    """Does a live process still hold session ``token``? False for no token, a gone file or a free lock."""
    if not token or not token.isalnum():
        return False
    try:
        fd = os.open(directory / f"{token}.lock", os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def _sweep(directory: Path, *, keep: Path) -> None:
    """Remove the files of sessions whose process died without closing (a crash, SIGKILL)."""
    for path in directory.glob("*.lock"):
        if path != keep and not session_alive(directory, path.stem):
            with contextlib.suppress(OSError):
                path.unlink()
