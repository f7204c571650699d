"""GitManager: a branch and a separate worktree per priority; the person's checkout is never touched.

Why worktrees (docs/tech_decisions/workspace.md): the person keeps working in their
own checkout — uncommitted changes included — while the daemon's agent works on
`coffee-maker/<slug>` in `.coffee_maker/worktrees/<slug>`. Nothing the daemon does
runs `checkout`, `reset` or `stash` in the person's tree.
"""

from __future__ import annotations

import fnmatch
import functools
import os
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Concatenate, ParamSpec, Protocol, TypeVar

import structlog
from git import Git, GitCommandError, InvalidGitRepositoryError, NoSuchPathError, Repo

from coffee_maker.config import LoadedConfig
from coffee_maker.errors import GitError
from coffee_maker.proc import tail
from coffee_maker.types import BranchStatus, Priority, Workspace
from coffee_maker.vcs._remote_refs import clone_lock
from coffee_maker.vcs._worktrees import SPARE, add_args, is_reusable, reuse_worktree
from coffee_maker.vcs.confine import confined

log = structlog.get_logger(__name__)

#: Paths the daemon writes inside the person's repository; never committed by accident.
EXCLUDES = (".coffee_maker/", "interaction_logs/")


class WorkspaceGit(Protocol):
    """What the daemon does with git: one worktree per priority, from prepare to push (GitManager)."""

    def preflight(self) -> None: ...
    def prepare(self, priority: Priority, base: str | None = None) -> Workspace: ...
    def changed_files(self, ws: Workspace) -> list[str]: ...
    def commit(self, ws: Workspace, message: str, trailers: Mapping[str, str]) -> str | None: ...
    def committed_head(self, ws: Workspace) -> str | None: ...
    def push(self, ws: Workspace) -> None: ...
    def discard(self, ws: Workspace, *, keep_branch: bool) -> None: ...
    def in_use(self, priority: Priority) -> AbstractContextManager[None]: ...
    def fetch(self) -> None: ...
    def branch_name(self, priority: Priority) -> str: ...
    def branch_status(self, branch: str, base: str | None = None) -> BranchStatus: ...
    def default_branch(self) -> str: ...


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _one_at_a_time(method: Callable[Concatenate[GitManager, _P], _R]) -> Callable[Concatenate[GitManager, _P], _R]:
    """Lanes share the clone: preparing and parking worktrees, fetches and pushes take its lock in turn."""

    @functools.wraps(method)
    def locked(manager: GitManager, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with manager._lock:
            return method(manager, *args, **kwargs)

    return locked


class GitManager:
    """The daemon's git: preflight, a worktree per priority, commit, push, rollback, reconciliation.

    Only plain values leave this class (paths, sha strings, dataclasses), never GitPython objects.
    """

    def __init__(self, loaded: LoadedConfig) -> None:
        self.loaded = loaded
        self.settings = loaded.config.git
        self.root = loaded.repo
        self.worktrees = loaded.layout.worktrees
        self._repo: Repo | None = None
        self._default: str | None = None
        self._lock = clone_lock(self.root)  # reentrant: ``prepare`` fetches inside
        self._busy: Counter[str] = Counter()  # worktree names an attempt is using now (``in_use``)

    # ------------------------------------------------------------------ basics

    @property
    def repo(self) -> Repo:
        if self._repo is None:
            try:
                self._repo = Repo(self.root, search_parent_directories=False)
            except (InvalidGitRepositoryError, NoSuchPathError):
                raise GitError(f"{self.root} is not a git repository (run `git init`, or pass --repo).") from None
        return self._repo

    def _git(self, *args: str, cwd: Path | None = None) -> str:
        """Run git (through GitPython's command wrapper) and turn failures into one sentence."""
        # A worktree needs only the command wrapper: a full Repo per call would pile up objects.
        runner = Git(str(cwd)) if cwd is not None else self.repo.git
        # A worktree runs git there or nowhere (``confined``); the clone itself is found as usual.
        env = confined(cwd) if cwd is not None and Path(cwd).resolve() != self.root.resolve() else None
        try:
            return str(runner.execute(["git", *args], with_extended_output=False, env=env))
        except GitCommandError as exc:
            detail = tail(str(exc.stderr or exc.stdout or ""), 6).strip().strip("'").strip()
            raise GitError(f"`git {' '.join(args)}` failed: {detail or exc}") from None

    @property
    def remote(self) -> str:
        return self.settings.remote

    def preflight(self) -> None:
        """Everything the daemon needs from the repository, with a sentence for each problem."""
        self.preflight_basics()
        self.default_branch()
        self._exclude_daemon_files()

    def preflight_basics(self) -> None:
        """The checks that need neither commits nor the remote: a remote named, no rebase/merge, an identity."""
        repo = self.repo
        if self.remote not in [r.name for r in repo.remotes]:
            raise GitError(f"The repository has no remote named {self.remote!r}; add one "
                           f"(`git remote add {self.remote} URL`) or set [git] remote.")
        git_dir = Path(repo.git_dir)
        if (git_dir / "rebase-merge").exists() or (git_dir / "rebase-apply").exists():
            raise GitError("A rebase is in progress in the repository; finish or abort it first.")
        if (git_dir / "MERGE_HEAD").exists():
            raise GitError("A merge is in progress in the repository; finish or abort it first.")
        reader = repo.config_reader()
        name = os.environ.get("GIT_AUTHOR_NAME") or reader.get_value("user", "name", default="")
        email = os.environ.get("GIT_AUTHOR_EMAIL") or reader.get_value("user", "email", default="")
        if not name or not email:
            raise GitError("No git identity: set `git config user.name` and `git config user.email`.")

    def _exclude_daemon_files(self) -> None:
        exclude = (self.root / self._git("rev-parse", "--git-common-dir", cwd=self.root)).resolve() / "info" / "exclude"
        exclude.parent.mkdir(parents=True, exist_ok=True)
        current = exclude.read_text() if exclude.exists() else ""
        wanted = list(EXCLUDES)
        if self.worktrees.resolve().is_relative_to(self.root.resolve()):
            wanted.append("/" + self.worktrees.resolve().relative_to(self.root.resolve()).as_posix() + "/")
        missing = [line for line in wanted if line not in current.split("\n")]
        if missing:
            prefix = "" if not current or current.endswith("\n") else "\n"
            exclude.write_text(current + prefix + "# coffee-maker\n" + "\n".join(missing) + "\n")

    def default_branch(self) -> str:
        """[git] default_branch, else origin/HEAD, else the remote's HEAD, else init.defaultBranch/main/master/trunk."""
        if self._default:
            return self._default
        if self.settings.default_branch:
            self._default = self.settings.default_branch
            return self._default
        try:
            ref = self._git("symbolic-ref", "--short", f"refs/remotes/{self.remote}/HEAD")
            self._default = ref.split("/", 1)[1]
            return self._default
        except GitError:
            pass
        self.fetch()
        remote_branches = {ref.remote_head for ref in self.repo.remote(self.remote).refs}
        try:  # ask the remote which branch its HEAD names (origin/HEAD is only set by clone)
            first = self._git("ls-remote", "--symref", self.remote, "HEAD").split("\n", 1)[0]
            if first.startswith("ref: refs/heads/") and first.split()[1][11:] in remote_branches:
                self._default = first.split()[1][11:]
                return self._default
        except (GitError, IndexError):
            pass
        configured = str(self.repo.config_reader().get_value("init", "defaultBranch", default=""))
        for candidate in (configured, "main", "master", "trunk"):
            if candidate in remote_branches:
                self._default = candidate
                return candidate
        raise GitError(f"Cannot tell the default branch of {self.remote}; set [git] default_branch.")

    @_one_at_a_time
    def fetch(self) -> None:
        self._git("fetch", "--prune", "--quiet", self.remote)

    def branch_name(self, priority: Priority) -> str:
        return self.settings.branch_template.format(slug=priority.slug, id=priority.id_slug)

    def has_branch(self, branch: str) -> bool:
        return self._has_local(branch) or self._has_remote(branch)

    # One rev-parse each: listing every ref through GitPython re-reads the config and grows with the branches.
    def _has_local(self, branch: str) -> bool:
        return self._sha(f"refs/heads/{branch}") is not None

    def _has_remote(self, branch: str) -> bool:
        return self._sha(f"refs/remotes/{self.remote}/{branch}") is not None

    # ------------------------------------------------------------------ workspaces

    @_one_at_a_time
    def prepare(self, priority: Priority, base: str | None = None) -> Workspace:
        """The priority's worktree on its branch — reused as is when it exists (crash, retry).

        A new one is made from a parked or finished worktree when one is safe to reuse
        (clean, and everything on it pushed), else with `git worktree add`. A new branch starts
        from ``base`` on the remote: the default branch, or a parent's PR branch when stacked.
        """
        branch = self.branch_name(priority)
        base = base or self.default_branch()
        path = self.worktrees / priority.slug
        existing = path.is_dir() and (path / ".git").exists()
        if path.exists() and not existing:
            # Not a worktree: git commands in it would reach the person's own checkout above it.
            if not path.is_dir() or any(path.iterdir()):
                raise GitError(f"{path} is in the way of the daemon's worktree for {priority.id} and is not one; "
                               "move it elsewhere.")
            path.rmdir()
        if existing:
            current = self._git("rev-parse", "--abbrev-ref", "HEAD", cwd=path)
            if current == branch:
                return Workspace(path, branch, base)
            if not is_reusable(self._git, path, self.remote):
                raise GitError(f"The worktree {path} is on {current!r}, not {branch!r}, and has work that is "
                               f"not pushed; remove it (`git worktree remove {path}`) and restart.")
        self.fetch()
        self.worktrees.mkdir(parents=True, exist_ok=True)
        start = self._checkout_args(branch, base)
        if existing:
            # A reuse interrupted between moving a finished worktree here and switching it (a crash).
            self._git("checkout", "--quiet", *start, cwd=path)
            log.info("workspace ready (finished an interrupted switch)", branch=branch, path=str(path), base=base)
        elif reuse_worktree(self._git, self.worktrees, self.remote, start, path, busy=set(self._busy)):
            log.info("workspace ready (reused worktree)", branch=branch, path=str(path), base=base)
        else:
            self._git("worktree", "prune")
            self._git("worktree", "add", "--quiet", *add_args(start, path))
            log.info("workspace ready", branch=branch, path=str(path), base=base)
        return Workspace(path, branch, base)

    @contextmanager
    def in_use(self, priority: Priority) -> Iterator[None]:
        """While an attempt works on ``priority``, no other lane's ``prepare`` reuses its worktree."""
        with self._lock:
            self._busy[priority.slug] += 1
        try:
            yield
        finally:
            with self._lock:
                self._busy[priority.slug] -= 1
                if self._busy[priority.slug] <= 0:
                    del self._busy[priority.slug]

    def _checkout_args(self, branch: str, base: str) -> list[str]:
        """How to get onto ``branch``: the local one, a track of the remote one, or new from the base."""
        if self._has_local(branch):
            return [branch]
        if self._has_remote(branch):
            return ["-b", branch, f"{self.remote}/{branch}"]
        return ["--no-track", "-b", branch, f"{self.remote}/{base}"]

    def _sha(self, ref: str) -> str | None:
        try:
            return self._git("rev-parse", "--verify", "--quiet", ref)
        except GitError:
            return None

    def changed_files(self, ws: Workspace) -> list[str]:
        """Uncommitted changes in the worktree, untracked files included."""
        out = self._git("status", "--porcelain", "-z", "--untracked-files=all", cwd=ws.path)
        entries = [e for e in out.split("\0") if e]
        files, skip = [], False
        for entry in entries:
            if skip:
                skip = False
                continue
            status, name = entry[:2], entry[3:]
            files.append(name)
            skip = "R" in status or "C" in status  # the next entry is the rename's source
        return files

    def files_vs_base(self, ws: Workspace, uncommitted: list[str] | None = None) -> list[str]:
        """Everything this branch changes relative to the default branch (committed or not)."""
        committed = self._git("diff", "--name-only", f"{self.remote}/{ws.base}...HEAD", cwd=ws.path).split("\n")
        pending = self.changed_files(ws) if uncommitted is None else uncommitted
        return sorted({f for f in committed if f} | set(pending))

    def committed_head(self, ws: Workspace) -> str | None:
        ahead = int(self._git("rev-list", "--count", f"{self.remote}/{ws.base}..HEAD", cwd=ws.path) or 0)
        return self._git("rev-parse", "HEAD", cwd=ws.path) if ahead else None

    def commit(self, ws: Workspace, message: str, trailers: Mapping[str, str]) -> str | None:
        """Stage everything and commit; a hook that rewrites files gets one re-stage and retry."""
        full = message + "\n\n" + "\n".join(f"{k}: {v}" for k, v in trailers.items()) + "\n"
        for attempt in (1, 2):
            self._git("add", "-A", cwd=ws.path)
            if not self._git("diff", "--cached", "--name-only", cwd=ws.path):
                return self.committed_head(ws)
            try:
                self._git("commit", "--quiet", "-m", full, cwd=ws.path)
                break
            except GitError as exc:
                if attempt == 2 or not self.changed_files(ws):
                    raise GitError(f"The commit on {ws.branch} failed: {exc.message}") from None
                log.info("a commit hook changed files; re-staging and retrying once", branch=ws.branch)
        return self._git("rev-parse", "HEAD", cwd=ws.path)

    @_one_at_a_time
    def push(self, ws: Workspace) -> None:
        protected = {self.default_branch(), *self.settings.protected_branches}
        if any(fnmatch.fnmatchcase(ws.branch, pattern) for pattern in protected):
            raise GitError(f"Refusing to push to {ws.branch!r}: it is the default or a protected branch.")
        try:
            self._git("push", "--quiet", "-u", self.remote, f"HEAD:refs/heads/{ws.branch}", cwd=ws.path)
        except GitError as exc:
            raise GitError(f"Pushing {ws.branch} to {self.remote} was rejected: {exc.message}") from None

    @_one_at_a_time
    def discard(self, ws: Workspace, *, keep_branch: bool) -> None:
        """Roll an attempt back: its uncommitted work dropped, its worktree parked for reuse, its
        branch kept for inspection or deleted (locally; a pushed branch stays on the remote).

        The person's checkout is never involved: the worktree is the daemon's own directory.
        """
        if ws.path.exists() and (ws.path / ".git").exists():
            spare = self.worktrees / SPARE
            try:
                self._git("reset", "--hard", "--quiet", cwd=ws.path)
                self._git("clean", "-ffd", "--quiet", cwd=ws.path)
                self._git("checkout", "--quiet", "--detach", cwd=ws.path)
                if spare.exists():
                    raise GitError("a spare worktree is already parked")
                self._git("worktree", "move", str(ws.path), str(spare))
            except GitError:
                self._git("worktree", "remove", "--force", str(ws.path))
        self._git("worktree", "prune")
        if not keep_branch and self._has_local(ws.branch):
            self._git("branch", "-D", ws.branch)

    # ------------------------------------------------------------------ reconciliation (crash recovery)

    def branch_status(self, branch: str, base: str | None = None) -> BranchStatus:
        """Does the branch exist locally/remotely, at which commits, how far ahead, pushed, merged?"""
        base = base or self.default_branch()
        local_sha = self._sha(f"refs/heads/{branch}")
        remote_sha = self._sha(f"refs/remotes/{self.remote}/{branch}")
        tip = local_sha or remote_sha
        ahead = 0
        if tip:
            ahead = int(self._git("rev-list", "--count", f"{self.remote}/{base}..{tip}") or 0)
        return BranchStatus(branch=branch, local=local_sha is not None, remote=remote_sha is not None,
                            local_sha=local_sha, remote_sha=remote_sha, ahead=ahead,
                            merged=bool(tip) and self.is_merged(branch, base))

    def is_merged(self, branch: str, base: str | None = None) -> bool:
        """Is the branch's tip reachable from the default branch on the remote?"""
        base = base or self.default_branch()
        tip = self._sha(f"refs/remotes/{self.remote}/{branch}") or self._sha(f"refs/heads/{branch}")
        if tip is None:
            return False
        try:
            self._git("merge-base", "--is-ancestor", tip, f"{self.remote}/{base}")
            return True
        except GitError:
            return False
