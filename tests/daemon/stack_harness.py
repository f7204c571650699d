"""A repository with stacked PRs on real git and the local forge, without running the daemon: P1's PR open
on main, and what each test stacks on it. Shared by the landing and the restacking tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from coffee_maker.config import load_config
from coffee_maker.daemon import wiring
from coffee_maker.daemon.loop import Daemon
from coffee_maker.daemon.stacking import Stacking
from coffee_maker.daemon.state import Phase
from coffee_maker.demo_lanes import build_lanes_sandbox
from coffee_maker.testing.channels import RecordingChannel
from coffee_maker.testing.config_edit import set_config
from coffee_maker.vcs.forge.local import LocalForge
from tests.conftest import git

P1, P2, P3 = "PRIORITY 1", "PRIORITY 2", "PRIORITY 3"
B1, B2, B3 = "coffee-maker/priority-1-part-1", "coffee-maker/priority-2-part-2", "coffee-maker/priority-3-part-3"
Method = Literal["merge", "squash", "rebase"]
R = TypeVar("R", bound="StackedRepo")


@dataclass
class StackedRepo:
    project: Path
    daemon: Daemon
    person: RecordingChannel
    forge: LocalForge

    @property
    def stacking(self) -> Stacking:
        return self.daemon.reviews.stacking

    def commit(self, branch: str, path: str, text: str, pid: str) -> str:
        git(self.project, "checkout", "-q", branch)
        (self.project / path).write_text(text)
        git(self.project, "add", path)  # only it: the state and review records live in the checkout too
        git(self.project, "commit", "-q", "-m", f"feat: {path}\n\nPriority: {pid}")
        git(self.project, "push", "-q", "origin", branch)
        git(self.project, "checkout", "-q", "main")
        return self.tip(branch)

    def tip(self, branch: str) -> str:
        return git(self.project, "rev-parse", branch).strip()

    def origin(self, *args: str) -> str:
        return git(self.project.parent / "origin.git", *args).strip()

    def merge(self, number: int, method: Method = "squash") -> None:
        self.forge.merge(self.forge.get(number), method)
        git(self.project, "fetch", "-q", "origin")

    def own(self, base: str, branch: str) -> list[str]:
        """The ``Priority`` trailers of the commits ``branch`` adds to ``base``."""
        commits = self.origin("rev-list", "--no-merges", f"{base}..{branch}").split()
        return [self.origin("log", "-1", "--format=%(trailers:key=Priority,valueonly)", c) for c in commits]


@contextmanager
def stacked_repo(kind: type[R], tmp_path: Path, *, count: int, depends: Mapping[int, int]) -> Iterator[R]:
    """A daemon's services on a sandbox with ``stack_dependents`` on, P1's branch (a shared file and part 1)
    pushed and its PR #1 open on main; the checkout on main."""
    project = build_lanes_sandbox(tmp_path / "s", count=count, lanes=2, depends=depends)
    set_config(project / "coffee_maker.toml", "daemon", stack_dependents=True)
    git(project, "commit", "-qam", "chore: stack dependents")
    git(project, "push", "-q", "origin", "main")
    loaded = load_config(project)
    daemon = wiring.build_daemon(loaded, threading.Event())
    person = RecordingChannel()
    daemon.services.notifier.channels.append(person)  # type: ignore[attr-defined]
    forge = LocalForge(loaded)
    daemon.services.forge = forge
    repo = kind(project, daemon, person, forge)
    git(project, "branch", "-q", B1, "main")
    (project / "weather" / "shared.py").write_text("NAME = 'base'\n")
    repo.commit(B1, "weather/shared.py", "NAME = 'base'\n", P1)
    repo.commit(B1, "weather/part1.py", "VALUE = 1\n", P1)
    forge.open_or_update(branch=B1, base="main", title=P1, body="B")
    daemon.store.transition(P1, Phase.PR_OPEN, branch=B1, pr_number=1)
    try:
        yield repo
    finally:
        daemon.services.close()
