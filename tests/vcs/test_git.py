"""GitManager on real repositories: worktrees, commits, pushes, and the person's checkout untouched."""

from __future__ import annotations

import stat
from dataclasses import replace
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

    @pytest.mark.parametrize("how", ["removed", "re-created as a plain folder"])
    def test_a_vanished_worktree_never_sends_git_to_the_persons_checkout(
            self, repo: tuple[Path, Path], priority: Priority, how: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """The daemon runs in the person's checkout; its worktree goes: commit refuses, their work stays."""
        _, work = repo
        (work / "notes.txt").write_text("scratch")
        head = git(work, "rev-parse", "HEAD")
        monkeypatch.chdir(work)  # where `coffee-maker run` was started: GitPython's fallback for a missing folder
        manager = GitManager(load_config(work))
        ws = manager.prepare(priority)
        git(work, "worktree", "remove", "--force", str(ws.path))
        if how != "removed":
            ws.path.mkdir(parents=True)
            (ws.path / "feature.py").write_text("x = 1\n")  # the agent's next write
        with pytest.raises(GitError, match="git was not run there nor anywhere else"):
            manager.commit(ws, "feat: x", {"Priority": priority.id})
        assert git(work, "rev-parse", "HEAD") == head
        assert git(work, "diff", "--cached", "--name-only") == ""  # nothing of theirs staged either
        assert "?? notes.txt" in git(work, "status", "--porcelain")

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


def _committed_worktree(manager: GitManager, priority: Priority, *, pushed: bool) -> Workspace:
    """The priority's worktree with one commit (a.py), pushed or not."""
    ws = manager.prepare(priority)
    (ws.path / "a.py").write_text("a = 1\n")
    manager.commit(ws, "feat: a", {})
    if pushed:
        manager.push(ws)
    return ws


class TestWorktreeReuse:
    def test_finished_worktree_is_reused_for_the_next_priority(self, loaded: LoadedConfig, priority: Priority) -> None:
        """A clean, fully pushed worktree becomes the next priority's (a checkout of the diff, not of every file)."""
        manager = GitManager(loaded)
        ws = _committed_worktree(manager, priority, pushed=True)
        other = replace(priority, id="PRIORITY 3", title="Next")
        ws2 = manager.prepare(other)
        assert not ws.path.exists() and ws2.path.is_dir() and not (ws2.path / "a.py").exists()
        assert git(ws2.path, "rev-parse", "HEAD") == git(loaded.repo, "rev-parse", "origin/main")
        assert manager.branch_status(ws.branch).pushed  # the first branch is intact
        assert manager.prepare(priority).path == ws.path  # and comes back from its branch when needed
        assert (ws.path / "a.py").read_text() == "a = 1\n"

    def test_a_worktree_another_lane_is_using_is_never_reused(self, loaded: LoadedConfig, priority: Priority) -> None:
        """Clean and pushed looks finished, but a lane working there keeps it (``in_use``)."""
        manager = GitManager(loaded)
        ws = _committed_worktree(manager, priority, pushed=True)
        other = replace(priority, id="PRIORITY 3", title="Next")
        with manager.in_use(priority):
            ws2 = manager.prepare(other)
        assert ws.path.is_dir() and git(ws.path, "rev-parse", "--abbrev-ref", "HEAD").strip() == ws.branch
        assert ws2.path != ws.path and ws2.path.is_dir()

    def test_a_switch_interrupted_by_a_crash_is_finished(self, loaded: LoadedConfig, priority: Priority) -> None:
        """Killed between moving a finished worktree and switching it: the next prepare switches it."""
        manager = GitManager(loaded)
        ws = _committed_worktree(manager, priority, pushed=True)
        other = replace(priority, id="PRIORITY 3", title="Next")
        target = ws.path.parent / other.slug
        git(loaded.repo, "worktree", "move", str(ws.path), str(target))  # the crash came right after this
        ws2 = manager.prepare(other)
        assert ws2.path == target and git(target, "rev-parse", "--abbrev-ref", "HEAD").strip() == ws2.branch
        assert not (target / "a.py").exists() and manager.branch_status(ws.branch).pushed

    def test_a_foreign_worktree_with_unpushed_work_is_refused(self, loaded: LoadedConfig, priority: Priority) -> None:
        """A worktree at the priority's path on another branch with unpushed work is never switched."""
        manager = GitManager(loaded)
        ws = _committed_worktree(manager, priority, pushed=False)
        other = replace(priority, id="PRIORITY 3", title="Next")
        git(loaded.repo, "worktree", "move", str(ws.path), str(ws.path.parent / other.slug))
        with pytest.raises(GitError, match="not pushed"):
            manager.prepare(other)

    def test_a_plain_directory_in_the_way_is_refused(self, loaded: LoadedConfig, priority: Priority) -> None:
        """A non-worktree directory at the path is never used (git there would reach the person's checkout)."""
        manager = GitManager(loaded)
        finished = manager.prepare(replace(priority, id="PRIORITY 3", title="Next"))
        manager.push(finished)  # a finished worktree that would otherwise be reused
        squatter = loaded.state_dir / "worktrees" / priority.slug
        squatter.mkdir(parents=True)
        (squatter / "notes.txt").write_text("mine\n")
        with pytest.raises(GitError, match="in the way"):
            manager.prepare(priority)
        assert sorted(p.name for p in squatter.iterdir()) == ["notes.txt"] and finished.path.is_dir()
        (squatter / "notes.txt").unlink()  # an empty directory is simply replaced
        assert git(manager.prepare(priority).path, "rev-parse", "--abbrev-ref", "HEAD").strip() == manager.branch_name(priority)

    def test_unpushed_or_dirty_worktree_is_never_reused(self, loaded: LoadedConfig, priority: Priority) -> None:
        """A worktree with uncommitted or unpushed work is left alone; the next one is a new worktree."""
        manager = GitManager(loaded)
        ws = manager.prepare(priority)
        (ws.path / "wip.py").write_text("unsaved = True\n")
        ws2 = manager.prepare(replace(priority, id="PRIORITY 3", title="Next"))
        assert (ws.path / "wip.py").read_text() == "unsaved = True\n" and ws2.path != ws.path
        manager.commit(ws, "feat: wip", {})  # committed but not pushed
        ws3 = manager.prepare(replace(priority, id="PRIORITY 4", title="Later"))
        assert ws.path.is_dir() and ws3.path.is_dir() and git(ws.path, "status", "--porcelain") == ""

    def test_a_worktree_that_cannot_move_is_left_alone(self, loaded: LoadedConfig, priority: Priority) -> None:
        """A finished worktree git refuses to move (locked) stays where it is; the next priority gets a new one."""
        manager = GitManager(loaded)
        ws = _committed_worktree(manager, priority, pushed=True)
        git(loaded.repo, "worktree", "lock", str(ws.path))
        ws2 = manager.prepare(replace(priority, id="PRIORITY 3", title="Next"))
        assert ws.path.is_dir() and (ws.path / "a.py").exists() and ws2.path.is_dir()

    def test_discard_parks_and_drops_uncommitted_work(self, loaded: LoadedConfig, priority: Priority) -> None:
        """Rollback drops the attempt's uncommitted files, keeps its commits on the branch, parks the worktree."""
        manager = GitManager(loaded)
        ws = manager.prepare(priority)
        (ws.path / "kept.py").write_text("k = 1\n")
        sha = manager.commit(ws, "feat: kept", {})
        (ws.path / "dropped.py").write_text("d = 1\n")
        manager.discard(ws, keep_branch=True)
        assert not ws.path.exists() and manager.branch_status(ws.branch).local_sha == sha
        again = manager.prepare(priority)
        assert (again.path / "kept.py").exists() and not (again.path / "dropped.py").exists()


class TestReconciliation:
    def test_branch_status_through_its_life(self, repo: tuple[Path, Path], priority: Priority) -> None:
        """Exists locally/remotely, head shas, commits ahead, pushed and merged are reported as plain values."""
        _, work = repo
        manager = GitManager(load_config(work))
        missing = manager.branch_status("coffee-maker/nope")
        assert not missing.exists and missing.ahead == 0 and not missing.merged
        ws = manager.prepare(priority)
        (ws.path / "a.py").write_text("a = 1\n")
        sha = manager.commit(ws, "feat: a", {})
        local = manager.branch_status(ws.branch)
        assert local.local and not local.remote and local.local_sha == sha and local.ahead == 1 and not local.pushed
        manager.push(ws)
        pushed = manager.branch_status(ws.branch)
        assert pushed.remote and pushed.remote_sha == sha and pushed.pushed and not pushed.merged
        git(work, "merge", "-q", f"origin/{ws.branch}")
        git(work, "push", "-q", "origin", "main")
        manager.fetch()
        merged = manager.branch_status(ws.branch)
        assert merged.merged and merged.ahead == 0

    def test_protected_branch_patterns(self, tmp_path: Path) -> None:
        """A branch matching a protected pattern (e.g. release/*) is never pushed."""
        _, work = make_repo(tmp_path, config="[git]\nprotected_branches = [\"release/*\"]\n")
        manager = GitManager(load_config(work))
        with pytest.raises(GitError, match="Refusing to push to 'release/1.0'"):
            manager.push(Workspace(work, "release/1.0", "main"))

    def test_worktree_dir_setting_is_excluded(self, tmp_path: Path, priority: Priority) -> None:
        """A configured worktree dir inside the repository is used and kept out of the person's git status."""
        _, work = make_repo(tmp_path, config="[git]\nworktree_dir = \".wt\"\n")
        manager = GitManager(load_config(work))
        manager.preflight()
        ws = manager.prepare(priority)
        assert ws.path == work / ".wt" / priority.slug
        assert git(work, "status", "--porcelain") == ""


class TestPreflightMore:
    def test_rebase_in_progress(self, loaded: LoadedConfig) -> None:
        """A rebase in progress is refused with what to do."""
        (loaded.repo / ".git" / "rebase-merge").mkdir()
        with pytest.raises(GitError, match="rebase is in progress"):
            GitManager(loaded).preflight()

    def test_no_identity(self, loaded: LoadedConfig, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without user.name/user.email the error names the git config commands."""
        for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL"):
            monkeypatch.delenv(name)
        with pytest.raises(GitError, match="git config user.name"):
            GitManager(loaded).preflight()

    def test_default_branch_without_origin_head(self, tmp_path: Path) -> None:
        """When origin/HEAD is missing the default branch falls back to the remote's main/master."""
        _, work = make_repo(tmp_path, branch="master")
        git(work, "remote", "set-head", "origin", "--delete")
        assert GitManager(load_config(work)).default_branch() == "master"

    def test_default_branch_from_the_remote_head(self, tmp_path: Path) -> None:
        """Without origin/HEAD, the remote's own HEAD names the default branch (here `develop`, not main)."""
        origin, work = make_repo(tmp_path, branch="main")
        git(work, "push", "-q", "origin", "main:develop")
        git(origin, "symbolic-ref", "HEAD", "refs/heads/develop")
        git(work, "remote", "set-head", "origin", "--delete")
        assert GitManager(load_config(work)).default_branch() == "develop"
