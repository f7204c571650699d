"""Shared fixtures: every test runs with a temporary HOME and a fixed git identity."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
ROADMAPS = SHARED / "fixtures" / "roadmaps"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never touch the real home, git config or state; drop variables that leak config in."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.test")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Committer")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "committer@example.test")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in list(os.environ):
        if name.startswith(("COFFEE_MAKER_", "LANGFUSE_", "SLACK_", "GITHUB_", "GH_", "GITLAB_", "ANTHROPIC_")):
            monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def roadmaps_dir() -> Path:
    """The real roadmaps in ../shared/fixtures/roadmaps (present locally and in CI)."""
    if not ROADMAPS.is_dir():
        pytest.fail(f"the shared fixtures are missing: {ROADMAPS}")
    return ROADMAPS


def git(cwd: Path, *args: str) -> str:
    """Run real git in a test repository and return its stdout."""
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def origin_and_clone(tmp_path: Path) -> tuple[Path, Path]:
    """A bare `origin` and a clone with one commit on `main` pushed to it."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "--bare", "-b", "main", str(origin))
    clone = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    git(clone, "checkout", "-q", "-b", "main")
    (clone / "README.md").write_text("# sandbox\n")
    git(clone, "add", "README.md")
    git(clone, "commit", "-q", "-m", "chore: initial commit")
    git(clone, "push", "-q", "-u", "origin", "main")
    return origin, clone
