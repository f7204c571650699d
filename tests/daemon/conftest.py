"""A demo sandbox per test: bare origin, project clone, two-priority roadmap, scripted agent, local forge."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from coffee_maker.demo import build_sandbox
from coffee_maker.testing.fake_forge import FakeForge
from tests.agent.conftest import claude_bin  # noqa: F401 — shared fixture: skips locally, fails in CI


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """The project directory of a fresh sandbox."""
    return build_sandbox(tmp_path / "sandbox")


@pytest.fixture
def fake() -> Iterator[FakeForge]:
    """The shipped fake GitHub (and GitLab) server; ann may write to the repository, nobody else."""
    with FakeForge(token="t0k", collaborators={"ann": "write"}) as server:
        yield server
    assert server.problems == []


def set_script(project: Path, name: str, script: dict[str, Any]) -> None:
    """Replace one priority's agent script (scripts live beside the project)."""
    (project.parent / "agent-scripts" / name).write_text(json.dumps(script))


def add_config(project: Path, text: str) -> None:
    """Append TOML to the sandbox's coffee_maker.toml (not committed: the daemon reads the checkout)."""
    path = project / "coffee_maker.toml"
    path.write_text(path.read_text() + "\n" + text)


def start_daemon_process(project: Path) -> subprocess.Popen[bytes]:
    """`coffee-maker run` as a person starts it — in their checkout — polling the forge twice a second.

    In the checkout, not wherever pytest runs: a git command that lost its worktree would fall back
    to the process's directory (GitPython does), and must show up as damage to the sandbox's
    checkout, never land in the developer's own repository."""
    env = {**os.environ, "COFFEE_MAKER_DAEMON__POLL_INTERVAL_S": "0.5"}
    # What it prints goes beside the checkout (never into it), for the failure message of ``stop_daemons``.
    with _stderr_file(project).open("ab") as stderr:
        return subprocess.Popen([sys.executable, "-m", "coffee_maker", "run", "--repo", str(project)], env=env,
                                cwd=project, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)


def _stderr_file(project: Path) -> Path:
    return project.parent / f"{project.name}.daemon-stderr.txt"


@contextmanager
def daemon_processes(projects: Iterable[Path]) -> Iterator[list[subprocess.Popen[bytes]]]:
    """A `coffee-maker run` process per project (as ``start_daemon_process``); any still running at the end is killed."""
    daemons: list[subprocess.Popen[bytes]] = []
    try:
        daemons.extend(start_daemon_process(project) for project in projects)
        yield daemons
    finally:
        for daemon in daemons:
            if daemon.poll() is None:
                daemon.kill()


def stop_daemons(daemons: Iterable[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each daemon, as a person's Ctrl-C would; each must end cleanly (exit 0)."""
    daemons = list(daemons)
    for daemon in daemons:
        daemon.send_signal(signal.SIGTERM)
    codes = [d.wait(timeout=60) for d in daemons]
    printed = {str(d.args[-1]): _stderr_file(Path(str(d.args[-1]))).read_text(errors="replace")[-3000:]
               for d, code in zip(daemons, codes, strict=True) if code != 0}
    assert codes == [0] * len(daemons), f"exit codes {codes}; what the failed ones printed: {printed}"

