"""Forge providers behind one protocol: open or update a PR (idempotently), find it, read feedback.

``make_forge`` picks the provider from config, or from the remote URL with ``auto``:
a GitHub host → GitHub REST with a token (config, GITHUB_TOKEN/GH_TOKEN, `gh auth token`),
a host with "gitlab" → GitLab REST, anything else (a local path, a bare repository)
→ local review branches with a summary file per PR. ``gh`` uses the logged-in CLI.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from typing import Literal, Protocol

import structlog

from coffee_maker import proc
from coffee_maker.config import LoadedConfig
from coffee_maker.errors import ForgeError
from coffee_maker.types import (
    CheckRun,
    CiReport,
    LogExcerpt,
    PullRequest,
    ReviewComment,
    ReviewThread,
)
from coffee_maker.vcs.forge.errors import ForgeRateLimited
from coffee_maker.vcs.forge.trust import ReviewFeedback

__all__ = ["Forge", "ForgeError", "ForgeRateLimited", "ReviewFeedback", "forge_token", "host_of", "make_forge", "owner_and_repo",
           "remote_url"]

log = structlog.get_logger(__name__)


class Forge(Protocol):
    """What the daemon needs from a forge; labels/reviewers/draft default to [forge] settings when None."""

    name: str

    def open_or_update(self, *, branch: str, base: str, title: str, body: str, labels: Sequence[str] | None = None,
                       reviewers: Sequence[str] | None = None, draft: bool | None = None) -> PullRequest: ...
    def find(self, branch: str) -> PullRequest | None: ...
    def get(self, number: int) -> PullRequest: ...
    def comments(self, pr: PullRequest) -> list[ReviewComment]: ...
    def review_feedback(self, pr: PullRequest) -> ReviewFeedback: ...
    def feedback(self, pr: PullRequest) -> list[str]: ...  # only comments by people who may write (trust.py)
    def comment(self, pr: PullRequest, body: str) -> None: ...
    def verify(self) -> str: ...  # ask the forge whether the token and repository work: a sentence, or ForgeError
    # The pull-request loop (issue 12). CI: cheap to poll (ETag, 304s); red as soon as one check failed.
    def checks(self, pr_or_sha: PullRequest | str) -> CiReport: ...
    def failure_log(self, check: CheckRun) -> LogExcerpt: ...  # streamed and cut (cut_log.py), never loaded whole
    def rerun(self, check: CheckRun) -> None: ...  # same commit; the next checks() shows the new run
    # Review threads, by people allowed to review only ([forge] reviewers_allowed, trust.py).
    def review_threads(self, pr: PullRequest) -> list[ReviewThread]: ...
    def reply(self, thread: ReviewThread, body: str) -> None: ...
    def resolve(self, thread: ReviewThread) -> bool: ...  # False where the forge cannot resolve (a general comment)
    def request_review(self, pr: PullRequest, reviewers: Sequence[str]) -> None: ...
    # Merging: only ever after a person's approval (the caller checks pr.approved); head_sha guards a moved head.
    def merge(self, pr: PullRequest, method: MergeMethod) -> str: ...
    def enable_auto_merge(self, pr: PullRequest, method: MergeMethod) -> None: ...
    def delete_branch(self, branch: str) -> None: ...
    # Stacked PRs (``daemon/stacking.py``): point an open PR at another base branch.
    def retarget(self, pr: PullRequest, base: str) -> PullRequest: ...
    # The receipt refreshed between pushes (``daemon/pr_receipt.py``): that PR's body only — never a new PR,
    # even when a person merged or closed it a moment ago.
    def update_body(self, pr: PullRequest, body: str) -> None: ...


MergeMethod = Literal["merge", "squash", "rebase"]


def remote_url(loaded: LoadedConfig) -> str:
    result = proc.run(["git", "remote", "get-url", loaded.config.git.remote], cwd=loaded.repo, timeout=20)
    return result.stdout.strip() if result.ok else ""


def owner_and_repo(url: str) -> tuple[str, str] | None:
    """`git@github.com:o/r.git`, `https://github.com/o/r` … → ("o", "r"); GitLab groups keep their path."""
    rest = url.strip()
    if "://" in rest:
        rest = rest.split("://", 1)[1]
        rest = rest.split("/", 1)[1] if "/" in rest else ""
    elif re.match(r"^[\w.-]+@[\w.-]+:", rest):
        rest = rest.split(":", 1)[1]
    else:
        return None
    owner, _, name = rest.rstrip("/").removesuffix(".git").rpartition("/")
    return (owner, name) if owner and name else None


def forge_token(loaded: LoadedConfig, names: tuple[str, ...], *, gh_cli: bool) -> str | None:
    settings = loaded.config.forge
    if settings.token is not None and settings.token.get_secret_value():
        return settings.token.get_secret_value()
    for name in ((settings.token_env,) if settings.token_env else ()) + names:
        value = os.environ.get(name)
        if value:
            return value
    if gh_cli and shutil.which("gh"):
        result = proc.run(["gh", "auth", "token"], timeout=10)
        if result.ok and result.stdout.strip():
            return result.stdout.strip()
    return None


def host_of(url: str) -> str:
    """`git@github.com:o/r` / `https://x@github.com/o/r` → "github.com" ("" for a local path)."""
    rest = url.strip()
    if "://" in rest:
        rest = rest.split("://", 1)[1].split("/", 1)[0]
    elif re.match(r"^[\w.-]+@[\w.-]+:", rest):
        rest = rest.split(":", 1)[0]
    else:
        return ""
    return rest.rsplit("@", 1)[-1].split(":", 1)[0].lower()


def make_forge(loaded: LoadedConfig, url: str | None = None) -> Forge:
    """The provider for this repository (``url`` overrides the remote's URL, for tests and tools)."""
    from coffee_maker.vcs.forge.gh import GhCliForge
    from coffee_maker.vcs.forge.github import GitHubForge
    from coffee_maker.vcs.forge.gitlab import GitLabForge
    from coffee_maker.vcs.forge.local import LocalForge

    settings = loaded.config.forge
    url = remote_url(loaded) if url is None else url
    provider = settings.provider
    host = host_of(url)
    if provider == "auto":
        provider = "github" if "github" in host else "gitlab" if "gitlab" in host else "local"
    if provider == "local":
        return LocalForge(loaded)
    named = settings.repository.rpartition("/") if settings.repository else None
    parsed = (named[0], named[2]) if named else owner_and_repo(url)
    if parsed is None:
        remote = loaded.config.git.remote
        where = f"the remote {remote!r} is {url!r}" if url else f"there is no remote {remote!r}"
        raise ForgeError(f"[forge] provider = \"{provider}\" needs a remote on a {_LABELS[provider]} server, but "
                         f"{where}; set [forge] provider = \"local\" (review branches), point {remote} at the forge, "
                         "or name the forge's repository with [forge] repository = \"owner/name\".")
    if provider == "gh":
        return GhCliForge(parsed[0], parsed[1], settings, hostname=host or "github.com")
    if provider == "github":
        token = forge_token(loaded, ("GITHUB_TOKEN", "GH_TOKEN"), gh_cli=True)
        if token is None:
            raise ForgeError(f"No GitHub token for {url}: {_token_hint(loaded, 'GITHUB_TOKEN')}, run `gh auth login`, "
                             "or set [forge] provider = \"local\" (review branches, no pull requests on GitHub).")
        default_api = "https://api.github.com" if host in ("github.com", "") else f"https://{host}/api/v3"
        return GitHubForge(settings.api_url or default_api, parsed[0], parsed[1], token, settings)
    token = forge_token(loaded, ("GITLAB_TOKEN",), gh_cli=False)
    if token is None:
        raise ForgeError(f"No GitLab token for {url}: {_token_hint(loaded, 'GITLAB_TOKEN')}, "
                         "or set [forge] provider = \"local\" (review branches, no merge requests on GitLab).")
    return GitLabForge(settings.api_url or f"https://{host or 'gitlab.com'}/api/v4", f"{parsed[0]}/{parsed[1]}", token, settings)


_LABELS = {"github": "GitHub", "gh": "GitHub", "gitlab": "GitLab"}


def _token_hint(loaded: LoadedConfig, default: str) -> str:
    named = loaded.config.forge.token_env
    if named and named != default:
        return f"[forge] token_env names {named}, which is not set; export {named} (or {default})"
    return f"export {default}"
