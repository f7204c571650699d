"""Would two branches merge? `git merge-tree --write-tree` answers without a checkout or an index.

Why merge-tree: it merges in the object store only (git ≥ 2.38: the merged tree is written,
no ref, index or file moves), so a lane can ask about any pair of branches while other lanes
work in their worktrees of the same clone. (`--quiet` would skip writing the tree, but only
from git 2.40; the project's git is 2.39.)
"""

from __future__ import annotations

from pathlib import Path

from coffee_maker.proc import run


def merges_cleanly(repo: Path, ours: str, theirs: str) -> bool | None:
    """True: no conflict; False: a conflict; None: git could not tell (a missing ref, an old git)."""
    done = run(["git", "merge-tree", "--write-tree", "--name-only", ours, theirs], cwd=repo, timeout=60)
    if done.returncode in (0, 1):
        return done.returncode == 0
    return None
