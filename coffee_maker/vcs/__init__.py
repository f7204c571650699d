"""Git (worktree per priority), the safety gate, and forge providers for pull requests."""

from coffee_maker.types import (
           BranchStatus,
           GateFailure,
           GateReport,
           PullRequest,
           ReviewComment,
           Workspace,
)
from coffee_maker.vcs.forge import Forge, make_forge
from coffee_maker.vcs.gate import SafetyGate
from coffee_maker.vcs.git import GitManager
from coffee_maker.vcs.pr_body import render_pr_body

__all__ = ["BranchStatus", "Forge", "GateFailure", "GateReport", "GitManager", "PullRequest",
           "ReviewComment", "SafetyGate", "Workspace", "make_forge", "render_pr_body"]
