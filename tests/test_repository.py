"""The repository itself: nothing tracked that only works on one machine."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_tracked_symlink_leaves_the_repository() -> None:
    """A symlink to an absolute path (a worktree's `.tools -> /work/main/.tools`) breaks every other clone."""
    listing = subprocess.run(["git", "ls-files", "-s"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    links = [line.split("\t", 1)[1] for line in listing.splitlines() if line.startswith("120000 ")]
    leaving = [link for link in links
               if not (ROOT / link).resolve().is_relative_to(ROOT) or (ROOT / link).resolve() == (ROOT / link)]
    assert leaving == [], f"tracked symlinks that point outside the repository: {leaving}"
