"""Would two branches merge? `git merge-tree --write-tree` answers without a checkout or an index.

Why merge-tree: it merges in the object store only (git ≥ 2.38: the merged tree is written,
no ref, index or file moves), so a lane can ask about any pair of branches while other lanes
work in their worktrees of the same clone. (`--quiet` would skip writing the tree, but only
from git 2.40; the project's git is 2.39.)
"""

from __future__ import annotations

from pathlib import Path

from coffee_maker.proc import run


def conflicting_paths(repo: Path, ours: str, theirs: str) -> list[str] | None:
    """The paths that conflict when merging ``theirs`` into ``ours`` ([] = clean); None: git could not tell."""
    done = run(["git", "merge-tree", "--write-tree", "--name-only", "--no-messages", ours, theirs], cwd=repo,
               timeout=60)
    if done.returncode not in (0, 1):
        return None  # a missing ref, an old git
    if done.returncode == 0:
        return []
    # Output: the merged tree's id, then one conflicted path per line (with --no-messages, nothing after).
    return sorted({line for line in done.stdout.splitlines()[1:] if line.strip()})
