"""`coffee-maker demo`: the daemon end to end on a sandbox, offline, in under a minute.

It builds a small project with a bare `origin`, a two-priority roadmap and the
scripted agent, then runs the real daemon on it: one question is answered by a
rule, one permission is denied by a rule, and one question (about an API key)
is escalated — the demo answers it a few seconds later through the real
`coffee-maker answer` command from another process, so you can watch it wait.
"""

from __future__ import annotations

import shutil
import time
from importlib import resources
from pathlib import Path

import structlog

from coffee_maker import proc
from coffee_maker.config import load_config
from coffee_maker.daemon.state import StateStore
from coffee_maker.errors import UsageError
from coffee_maker.testing.daemon_run import run_until_settled

log = structlog.get_logger(__name__)

TEST_COMMAND = "python -m unittest discover -s tests -q"


def _git(cwd: Path, *args: str) -> None:
    proc.run(["git", *args], cwd=cwd, check=True, timeout=60)


def build_sandbox(root: Path) -> Path:
    """A fresh sandbox: origin.git, project/ (cloned, one commit), agent-scripts/. Returns project/."""
    if root.exists():
        if not (root / ".coffee-maker-demo").exists():
            raise UsageError(f"{root} exists and is not a coffee-maker demo sandbox; choose another --dir.")
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / ".coffee-maker-demo").write_text("created by `coffee-maker demo`; safe to delete\n")
    assets = resources.files("coffee_maker").joinpath("demo_assets")
    scripts = root / "agent-scripts"
    scripts.mkdir()
    for name in ("priority-1.json", "priority-2.json"):
        (scripts / name).write_text(assets.joinpath(name).read_text(encoding="utf-8"), encoding="utf-8")
    origin = root / "origin.git"
    _git(root, "init", "-q", "--bare", "-b", "main", str(origin))
    project = root / "project"
    _git(root, "clone", "-q", str(origin), str(project))
    _git(project, "checkout", "-q", "-b", "main")
    _git(project, "config", "user.name", "coffee-maker demo")
    _git(project, "config", "user.email", "demo@coffee-maker.invalid")
    (project / "docs").mkdir()
    (project / "docs" / "ROADMAP.md").write_text(assets.joinpath("ROADMAP.md").read_text(encoding="utf-8"),
                                                 encoding="utf-8")
    (project / "weather").mkdir()
    (project / "weather" / "__init__.py").write_text('"""A tiny weather toolkit."""\n')
    (project / "tests").mkdir()
    (project / "tests" / "__init__.py").write_text("")
    (project / "tests" / "test_package.py").write_text(
        "import unittest\n\nimport weather\n\n\nclass PackageTest(unittest.TestCase):\n"
        "    def test_imports(self) -> None:\n        self.assertTrue(weather.__doc__)\n")
    (project / "README.md").write_text("# Weather toolkit\n\nA sandbox for the coffee_maker demo.\n")
    (project / ".gitignore").write_text("__pycache__/\n")
    (project / "coffee_maker.toml").write_text(
        "# The demo's configuration: the scripted agent, local review branches, answers from the CLI.\n"
        "[agent]\n"
        'backend = "scripted"\n'
        f'script = "{scripts}"\n\n'
        "[git]\n"
        f'test_command = "{TEST_COMMAND}"\n\n'
        "[forge]\n"
        'provider = "local"\n\n'
        "[notify]\n"
        'channels = ["cli"]\n'
        "timeout_s = 120\n\n"
        "[daemon]\n"
        "lanes = 1  # priorities worked on at once; with 2 both demo priorities run side by side\n"
        "poll_interval_s = 2\n"
        "retry_delay_s = 1\n"
    )
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "chore: start the weather toolkit")
    _git(project, "push", "-q", "-u", "origin", "main")
    return project


def run_demo(root: Path, *, answer_delay_s: float = 3.0, timeout_s: float = 50.0) -> int:
    from coffee_maker.observe.logging import configure_logging

    started = time.monotonic()
    project = build_sandbox(root)
    configure_logging("info", log_dir=load_config(project).state_dir)
    log.info("demo sandbox ready", project=str(project))
    code = run_until_settled(project, settled=2, timeout_s=timeout_s, answer_delay_s=answer_delay_s)
    _summary(project, root, time.monotonic() - started)
    return code


def _summary(project: Path, root: Path, elapsed: float) -> None:
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)  # long paths stay copyable
    store = StateStore(load_config(project).layout.state_db)
    console.rule(f"demo finished in {elapsed:.0f}s")
    for state in store.all():
        console.print(f"  {state.priority}: {state.phase.value} on {state.branch}")
        console.print(f"      {state.pr_url or state.reason}")
    logs = sorted((project / "interaction_logs").glob("*.jsonl"))
    console.print("\nWhere to look:")
    console.print(f"  branches:          git -C {project} branch -a")
    console.print(f"  local PR records:  {project / '.coffee_maker' / 'reviews'}")
    branch = next((s.branch for s in store.all() if s.branch), None)
    if branch:
        console.print(f"  ticked roadmap:    git -C {project} show {branch}:docs/ROADMAP.md")
        console.print(f"  the agent's work:  git -C {project} log --stat main..{branch}")
    console.print(f"  interaction log:   {logs[-1] if logs else project / 'interaction_logs'}")
    console.print(f"  daemon log:        {project / '.coffee_maker' / 'coffee-maker.log'}")
    console.print(f"  status / stats:    coffee-maker status --repo {project}   ·   coffee-maker stats --repo {project}")
    console.print(f"  start over:        rm -rf {root}")
