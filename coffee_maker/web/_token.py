"""The dashboard's access token and where a running daemon says it listens.

The token is kept in ``layout.web_token`` with mode 0600 so only the person who
runs the daemon can read it; it survives restarts, so a bookmarked page keeps
working. ``layout.web_info`` holds the URL *without* the token (safe to show in logs).
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from typing import Any

from coffee_maker.config.layout import StateLayout


def load_or_create_token(layout: StateLayout) -> str:
    """The token in the state directory, made (random, 0600, atomically) on first use."""
    path = layout.web_token
    if path.exists():
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)  # someone loosened it: the token must stay private
        token = path.read_text(encoding="utf-8").strip()
        if len(token) >= 32:
            return token
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    os.replace(tmp, path)
    return token


def read_token(layout: StateLayout) -> str | None:
    path = layout.web_token
    return path.read_text(encoding="utf-8").strip() if path.exists() else None


def write_info(layout: StateLayout, *, url: str, pid: int) -> None:
    """Record where the page is served (atomically: `coffee-maker web` may read it at any moment)."""
    path = layout.web_info
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"url": url, "pid": pid}), encoding="utf-8")
    os.replace(tmp, path)


def read_info(layout: StateLayout) -> dict[str, Any] | None:
    try:
        data = json.loads(layout.web_info.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("url"), str) else None


def remove_info(layout: StateLayout, pid: int) -> None:
    """Forget the URL, unless another process wrote it since."""
    info = read_info(layout)
    if info is not None and info.get("pid") == pid:
        layout.web_info.unlink(missing_ok=True)
