"""A repository with a bare origin, configured for coffee-maker."""

from __future__ import annotations

from pathlib import Path

import pytest

from coffee_maker.config import LoadedConfig, load_config
from coffee_maker.roadmap import parse_roadmap
from coffee_maker.types import Priority
from tests.conftest import git

ROADMAP = "# R\n\n## PRIORITY 2.5: New User Experience\n**Status**: 📝 Planned\n- [ ] guide\n"


def make_repo(tmp_path: Path, *, branch: str = "main", config: str = "") -> tuple[Path, Path]:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", branch, str(origin))
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(origin), str(work))
    git(work, "checkout", "-q", "-b", branch)
    (work / "docs").mkdir()
    (work / "docs" / "ROADMAP.md").write_text(ROADMAP)
    (work / "README.md").write_text("# sandbox\n")
    (work / "coffee_maker.toml").write_text(config)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "chore: initial")
    git(work, "push", "-q", "-u", "origin", branch)
    return origin, work


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    return make_repo(tmp_path, config="[git]\ntest_command = \"true\"\n")


@pytest.fixture
def loaded(repo: tuple[Path, Path]) -> LoadedConfig:
    return load_config(repo[1])


@pytest.fixture
def priority() -> Priority:
    return parse_roadmap(ROADMAP).priorities[0]


# Machines sharing one remote (claims, checkpoints): fixtures `shared_origin` and `machine`.
from tests.vcs.remote_machines import machine, shared_origin  # noqa: E402, F401
