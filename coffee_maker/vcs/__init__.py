"""Git (worktree per priority), the safety gate, and forge providers for pull requests."""

from coffee_maker.vcs.forge import Forge, make_forge
from coffee_maker.vcs.gate import SafetyGate
from coffee_maker.vcs.git import GitManager
from coffee_maker.vcs.pr_body import render_pr_body

__all__ = ["Forge", "GitManager", "SafetyGate", "make_forge", "render_pr_body"]
