"""GitManager on real repositories: worktrees, commits, pushes, and the person's checkout untouched."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from coffee_maker.config import LoadedConfig, load_config
from coffee_maker.errors import GitError
from coffee_maker.types import Priority, Workspace
from coffee_maker.vcs import GitManager
from tests.conftest import git
from tests.vcs.conftest import make_repo


class TestPrepare:
    def test_branch_and_worktree_from_default(self, loaded: LoadedConfig, priority: Priority) -> None:
        """A branch named from the template, in a worktree under the state dir, based on origin/main."""
        manager = GitManager(loaded)
        manager.preflight()
        ws = manager.prepare(priority)
        assert ws.branch == "coffee-maker/priority-2-5-new-user-experience"
        assert ws.path == loaded.state_dir / "worktrees" / priority.slug and ws.base == "main"
        assert git(ws.path, "rev-parse", "--abbrev-ref", "HEAD").strip() == ws.branch
        assert manager.prepare(priority) == ws  # a second call (retry, crash) reuses it

    def test_person_dirty_tree_is_untouched(self, repo: tuple[Path, Path], priority: Priority) -> None:
        """Uncommitted and untracked work in the person's checkout survives byte for byte."""
        _, work = repo
        (work / "README.md").write_bytes(b"# mine\r\nunsaved  \n")
        (work / "notes.txt").write_text("scratch")
        head = git(work, "rev-parse", "HEAD")
        manager = GitManager(load_config(work))
        ws = manager.prepare(priority)
        (ws.path / "feature.py").write_text("x = 1\n")
        manager.commit(ws, "feat: x", {"Priority": priority.id})
        manager.push(ws)
        assert (work / "README.md").read_bytes() == b"# mine\r\nunsaved  \n"
        assert (work / "notes.txt").read_text() == "scratch"
        assert git(work, "rev-parse", "HEAD") == head
        assert git(work, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"

    def test_detached_head_in_person_checkout(self, repo: tuple[Path, Path], priority: Priority) -> None:
        """A detached HEAD in the person's checkout does not matter: the worktree bases on origin."""
        _, work = repo
        git(work, "checkout", "-q", "--detach")
        ws = GitManager(load_config(work)).prepare(priority)
        assert ws.base == "main"

    def test_default_branch_trunk(self, tmp_path: Path, priority: Priority) -> None:
        """A default branch that is not main is detected."""
        _, work = make_repo(tmp_path, branch="trunk")
        manager = GitManager(load_config(work))
        manager.preflight()
        assert manager.default_branch() == "trunk" and manager.prepare(priority).base == "trunk"

    def test_state_dir_is_excluded(self, loaded: LoadedConfig) -> None:
        """Preflight adds the daemon's files to .git/info/exclude."""
        GitManager(loaded).preflight()
        exclude = (loaded.repo / ".git" / "info" / "exclude").read_text()
        assert ".coffee_maker/" in exclude and "interaction_logs/" in exclude


class TestPreflight:
    def test_not_a_repository(self, tmp_path: Path) -> None:
        """Outside a repository the error says so."""
        with pytest.raises(GitError, match="is not a git repository"):
            GitManager(load_config(tmp_path)).preflight()

    def test_no_remote(self, tmp_path: Path) -> None:
        """A repository without the remote is named."""
        git(tmp_path, "init", "-q")
        with pytest.raises(GitError, match="no remote named 'origin'"):
            GitManager(load_config(tmp_path)).preflight()

    def test_merge_in_progress(self, loaded: LoadedConfig) -> None:
        """A merge in progress is refused."""
        (loaded.repo / ".git" / "MERGE_HEAD").write_text("0" * 40)
        with pytest.raises(GitError, match="merge is in progress"):
            GitManager(loaded).preflight()


class TestCommitPush:
    def test_commit_message_and_trailers(self, loaded: LoadedConfig, priority: Priority) -> None:
        """Commits carry the conventional message and trailers; nothing new returns the head."""
        manager = GitManager(loaded)
        ws = manager.prepare(priority)
        (ws.path / "a.py").write_text("a = 1\n")
        sha = manager.commit(ws, "feat(priority-2.5): New User Experience", {"Priority": "PRIORITY 2.5",
                                                                             "Agent-Session": "s-1"})
        message = git(ws.path, "log", "-1", "--format=%B")
        assert message.startswith("feat(priority-2.5): New User Experience\n")
        assert "Priority: PRIORITY 2.5" in message and "Agent-Session: s-1" in message
        assert manager.commit(ws, "again", {}) == sha == manager.committed_head(ws)

    def test_pre_commit_hook_that_rewrites_files(self, loaded: LoadedConfig, priority: Priority) -> None:
        """A hook that fixes files and fails once gets a re-stage and a second try."""
        manager = GitManager(loaded)
        ws = manager.prepare(priority)
        hooks = loaded.repo / ".git" / "hooks"
        hook = hooks / "pre-commit"
        hook.write_text("#!/bin/sh\nif grep -q ' $' a.py; then sed -i 's/ *$//' a.py; exit 1; fi\n")
        hook.chmod(hook.stat().st_mode | stat.S_IEXEC)
        (ws.path / "a.py").write_text("a = 1   \n")
        manager.commit(ws, "feat: a", {})
        assert git(ws.path, "show", "HEAD:a.py") == "a = 1\n"

    def test_push_sets_upstream(self, repo: tuple[Path, Path], priority: Priority) -> None:
        """The branch arrives on origin."""
        origin, work = repo
        manager = GitManager(load_config(work))
        ws = manager.prepare(priority)
        (ws.path / "a.py").write_text("a = 1\n")
        manager.commit(ws, "feat: a", {})
        manager.push(ws)
        assert ws.branch in git(origin, "branch")

    def test_rejected_push_is_a_sentence(self, repo: tuple[Path, Path], priority: Priority) -> None:
        """A pre-receive hook that refuses gives a clear GitError."""
        origin, work = repo
        hook = origin / "hooks" / "pre-receive"
        hook.write_text("#!/bin/sh\necho 'policy: no pushes today' >&2\nexit 1\n")
        hook.chmod(0o755)
        manager = GitManager(load_config(work))
        ws = manager.prepare(priority)
        (ws.path / "a.py").write_text("a = 1\n")
        manager.commit(ws, "feat: a", {})
        with pytest.raises(GitError, match="was rejected") as info:
            manager.push(ws)
        assert "no pushes today" in info.value.message

    def test_never_push_protected(self, loaded: LoadedConfig) -> None:
        """Pushing the default branch is refused before git runs."""
        manager = GitManager(loaded)
        with pytest.raises(GitError, match="Refusing to push to 'main'"):
            manager.push(Workspace(loaded.repo, "main", "main"))

    def test_discard_keeps_or_deletes_branch(self, loaded: LoadedConfig, priority: Priority) -> None:
        """Rollback removes the worktree; the branch is kept or deleted by argument."""
        manager = GitManager(loaded)
        ws = manager.prepare(priority)
        manager.discard(ws, keep_branch=True)
        assert not ws.path.exists() and manager.has_branch(ws.branch)
        ws = manager.prepare(priority)
        manager.discard(ws, keep_branch=False)
        assert not manager.has_branch(ws.branch)
