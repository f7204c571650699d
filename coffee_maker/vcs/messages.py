"""Commit messages the person's history can live with: Conventional Commits plus trailers.

Why trailers: `git log --grep "Priority: PRIORITY 2.5"` and `git interpret-trailers` find the
daemon's commits for a priority, and the agent session id leads back to the interaction log.
"""

from __future__ import annotations

from collections.abc import Mapping

from coffee_maker.types import Priority


def commit_message(priority: Priority, summary: str | None = None, *, kind: str = "feat",
                   session_id: str | None = None, extra: Mapping[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """`feat(priority-2.5): New User Experience` and its trailers (`Priority:`, `Agent-Session:`)."""
    trailers = {"Priority": priority.id}
    if session_id:
        trailers["Agent-Session"] = session_id
    trailers.update(extra or {})
    return f"{kind}({priority.id_slug}): {summary or priority.title}", trailers
