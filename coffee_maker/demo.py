"""`coffee-maker demo`: the daemon end to end on a sandbox, offline, in under a minute.

It builds a small project with a bare `origin`, a two-priority roadmap and the
scripted agent, then runs the real daemon on it: one question is answered by a
rule, one permission is denied by a rule, and one question (about an API key)
is escalated — the demo answers it a few seconds later through the real
`coffee-maker answer` command from another process, so you can watch it wait.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from importlib import resources
from pathlib import Path

import structlog

from coffee_maker import proc
from coffee_maker.config import load_config
from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.errors import UsageError

log = structlog.get_logger(__name__)

DEMO_ANSWER = "offline"
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
        "poll_interval_s = 2\n"
        "retry_delay_s = 1\n"
    )
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "chore: start the weather toolkit")
    _git(project, "push", "-q", "-u", "origin", "main")
    return project


def answer_when_asked(project: Path, stop: threading.Event, *, delay_s: float, answer: str = DEMO_ANSWER) -> None:
    """Play the person: wait for an escalated question, then answer it from another process."""
    from coffee_maker.notify.inbox import Inbox

    inbox_path = load_config(project).layout.inbox_db
    while not stop.is_set():
        pending = Inbox(inbox_path).waiting() if inbox_path.exists() else []
        if pending:
            question = pending[0]
            log.info("demo: a question is waiting for a person; answering it in a few seconds",
                     id=question.id, question=question.text)
            if stop.wait(delay_s):
                return
            subprocess.run(  # the real command a person would type in another shell
                [sys.executable, "-m", "coffee_maker", "answer", question.id, answer, "--repo", str(project)],
                check=False, stdin=subprocess.DEVNULL,
            )
            return
        stop.wait(0.2)


def run_until_settled(project: Path, *, settled: int, timeout_s: float, answer_delay_s: float | None = None) -> int:
    """Run the real daemon on ``project`` until ``settled`` priorities have an open PR or are blocked.

    With ``answer_delay_s`` a helper answers the first escalated question through `coffee-maker answer`.
    """
    from coffee_maker.daemon import wiring
    from coffee_maker.daemon.service import DaemonService

    loaded = load_config(project)
    stop = threading.Event()
    service = DaemonService(loaded, wiring.build_daemon, watch=True)
    helpers = [threading.Thread(target=_stop_when_settled, args=(project, service, stop, settled, timeout_s),
                                daemon=True)]
    if answer_delay_s is not None:
        helpers.append(threading.Thread(target=answer_when_asked, args=(project, stop),
                                        kwargs={"delay_s": answer_delay_s}, daemon=True))
    for thread in helpers:
        thread.start()
    try:
        return service.run()
    finally:
        stop.set()


def _stop_when_settled(project: Path, service: object, stop: threading.Event, settled: int, timeout_s: float) -> None:
    db = load_config(project).layout.state_db
    deadline = time.monotonic() + timeout_s
    while not stop.is_set() and time.monotonic() < deadline:
        if db.exists():
            done = [s for s in StateStore(db).all() if s.phase in (Phase.PR_OPEN, Phase.BLOCKED)]
            if len(done) >= settled:
                break
        stop.wait(0.1)
    while getattr(service, "daemon", None) is None and not stop.is_set():
        stop.wait(0.05)
    daemon = getattr(service, "daemon", None)
    if daemon is not None:
        daemon.request_stop()


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
