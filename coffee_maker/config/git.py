"""[git] and [forge] — branches, the safety gate, and where pull requests go."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class GitSettings(BaseModel):
    """Branches, worktrees and the safety gate."""

    model_config = ConfigDict(extra="forbid")

    remote: str = Field("origin", description="The remote to fetch from and push to.")
    default_branch: str | None = Field(None, description="The branch PRs target (detected from the remote when unset).")
    branch_template: str = Field("coffee-maker/{slug}", description="Branch name per priority; {slug} and {id} available.")
    test_command: str | None = Field(None, description="The command that must pass before a commit (e.g. 'pytest -q').")
    test_timeout_s: float = Field(1800.0, gt=0, description="Stop the test command after this long (the gate fails).")
    protected_branches: list[str] = Field(default_factory=lambda: ["main", "master"],
                                          description="Branches the daemon never pushes to (the default branch too).")
    protected_paths: list[str] = Field(default_factory=list, description="Glob patterns the agent may not change.")
    worktree_dir: str | None = Field(None, description="Where the per-priority worktrees live (default: <state dir>/worktrees).")
    keep_failed_branches: bool = Field(True, description="Keep a blocked attempt's branch for inspection.")
    secret_allowlist: list[str] = Field(default_factory=list,
                                        description="Regexes of strings the secret scan must not flag (false positives).")


class ForgeSettings(BaseModel):
    """Where pull requests go."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["auto", "github", "gh", "gitlab", "local"] = Field(
        "auto", description="auto (from the remote URL) | github (REST) | gh (the logged-in gh CLI) | gitlab | "
                            "local (review branches, no forge)")
    api_url: str | None = Field(None, description="API base URL (GitHub Enterprise, self-hosted GitLab, tests).")
    repository: str | None = Field(
        None,
        description="The repository on the forge as owner/name (GitLab: group/…/name), when the remote's URL does "
                    "not say it: a mirror, a local path, a proxy.")
    token: SecretStr | None = Field(None, description="The API token (prefer token_env or the environment: config "
                                                      "files leak); shown masked by `config show`.")
    token_env: str | None = Field(None, description="Environment variable holding the token (default GITHUB_TOKEN/GH_TOKEN/GITLAB_TOKEN).")
    labels: list[str] = Field(default_factory=lambda: ["coffee-maker"], description="Labels put on each PR.")
    reviewers: list[str] = Field(default_factory=list, description="Reviewers requested on each PR.")
    draft: bool = Field(False, description="Open PRs as drafts.")
    reviewers_allowed: list[str] | None = Field(
        None, description="People whose review comments the agent acts on (default: everyone the forge says may "
                          "write to the repository, plus [forge] reviewers).")
    merge: Literal["off", "merge", "squash", "rebase", "auto"] = Field(
        "off", description="Merge an approved, green, mergeable PR: off | merge | squash | rebase | auto (the forge's "
                           "auto-merge). Never without a person's approval.")
    ci: Literal["wait", "ignore"] = Field("wait", description="Follow the PR's CI checks (wait) or not (ignore).")
    ci_timeout_s: float = Field(3600.0, gt=0, description="Give up waiting for CI checks after this long.")

    @field_validator("repository")
    @classmethod
    def _owner_and_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[\w.-]+(/[\w.-]+)+", value):
            raise ValueError(f"should be owner/name as on the forge (GitLab: group/…/name), not {value!r}")
        return value
