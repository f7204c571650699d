"""`coffee-maker doctor`: check everything the daemon needs, and say how to fix what is missing."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from coffee_maker import proc
from coffee_maker.commands import _common
from coffee_maker.config import LoadedConfig, StateLayout
from coffee_maker.errors import CoffeeMakerError
from coffee_maker.words import count


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str
    fix: str = ""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("doctor", help="check git, forge, agent CLI, Slack and desktop set-up", parents=[common])
    parser.add_argument("--json", action="store_true", help="print JSON")
    # A broken config is a ✗ row, not an abort: the other checks still run (on the defaults).
    parser.set_defaults(func=lambda a: doctor(_common.load_for_state(a, warn=False), as_json=a.json))


def _git(repo: Path, *args: str) -> proc.Completed:
    return proc.run(["git", *args], cwd=repo, timeout=20)


def check_git(loaded: LoadedConfig) -> list[Check]:
    """git itself, then the repository as the daemon sees it: the readiness check it runs before each attempt."""
    if shutil.which("git") is None:
        return [Check("git", "fail", "git is not installed", "Install git (e.g. `apt install git`).")]
    checks = [Check("git", "ok", _git(loaded.repo, "--version").stdout.strip())]
    if not _git(loaded.repo, "rev-parse", "--is-inside-work-tree").ok:
        return [*checks, Check("repository", "fail", f"{loaded.repo} is not a git repository",
                               "Run coffee-maker inside your repository, or pass --repo PATH.")]
    checks.append(Check("repository", "ok", str(loaded.repo)))
    return [*checks, check_readiness(loaded)]


def check_readiness(loaded: LoadedConfig) -> Check:
    """What `run` checks before each attempt (vcs/readiness.py), so doctor cannot call ready what `run` waits on:
    commits, the remote and its default branch, identity, no rebase or merge under way, the roadmap pushed."""
    from coffee_maker.vcs.git import GitManager
    from coffee_maker.vcs.readiness import repository_problem, roadmap_on_remote_problem

    git = GitManager(loaded)
    waits = "`coffee-maker run` waits on this until it is fixed."
    try:
        problem = repository_problem(git)
        roadmap_rel = os.path.relpath(loaded.roadmap_path, loaded.repo)
        if problem is None and not roadmap_rel.startswith("..") and loaded.roadmap_path.is_file():
            problem = roadmap_on_remote_problem(git, roadmap_rel)  # a missing roadmap is the roadmap row's
        base = None if problem else git.default_branch()
    except CoffeeMakerError as exc:
        problem = exc.message
    if problem is not None:
        return Check("readiness", "fail", problem, waits)
    url = _git(loaded.repo, "remote", "get-url", git.remote).stdout.strip()
    return Check("readiness", "ok", f"{git.remote} → {url}, branches start from {git.remote}/{base}")


def check_roadmap(loaded: LoadedConfig) -> Check:
    from coffee_maker.roadmap import read_roadmap

    try:
        _, roadmap = read_roadmap(loaded.roadmap_path)
    except CoffeeMakerError as exc:
        return Check("roadmap", "fail", exc.message, "Run `coffee-maker init` for a starter roadmap.")
    planned = sum(1 for p in roadmap.priorities if p.status.value == "planned")
    status = "warn" if roadmap.warnings else "ok"
    return Check("roadmap", status, f"{count(len(roadmap.priorities), 'priority', 'priorities')}, {planned} planned, "
                 f"{len(roadmap.warnings)} warnings", "See `coffee-maker roadmap check`." if roadmap.warnings else "")


def check_agent(loaded: LoadedConfig) -> list[Check]:
    return [*_check_agent_cli(loaded), check_agent_environment(loaded)]


def check_agent_environment(loaded: LoadedConfig) -> Check:
    """What the agent will see of this environment: it is built, not inherited."""
    from coffee_maker.agent.registry import environment_for
    from coffee_maker.environment import describe_withheld
    from coffee_maker.errors import AgentError

    try:
        built = environment_for(loaded.config.agent)
    except AgentError as exc:
        return Check("agent env", "fail", exc.message)
    return Check("agent env", "ok", f"{len(built.env)} variables passed; withheld: {describe_withheld(built.withheld)}",
                 "To pass more, name them in [agent] pass_env." if built.withheld else "")


def _check_agent_cli(loaded: LoadedConfig) -> list[Check]:
    agent = loaded.config.agent
    if agent.backend == "scripted":
        ok = bool(agent.script) and Path(loaded.repo, agent.script or "").exists()
        return [Check("agent", "ok" if ok else "fail", f"scripted agent, script {agent.script}",
                      "" if ok else "Set [agent] script to a JSON/TOML script file.")]
    if agent.backend != "claude":
        binary = agent.cli[agent.backend].command[0] if agent.backend in agent.cli else agent.backend
        found = shutil.which(binary)
        return [Check("agent", "ok" if found else "fail", f"{agent.backend}: {found or binary + ' not found'}",
                      "" if found else f"Install the {agent.backend} CLI or fix [agent.cli.{agent.backend}] command.")]
    found_binary = shutil.which(agent.binary) or (agent.binary if Path(agent.binary).is_file() else None)
    if found_binary is None:
        return [Check("claude CLI", "fail", f"{agent.binary!r} not found",
                      "Install it: `npm install -g @anthropic-ai/claude-code`, or set [agent] binary to its path.")]
    version = proc.run([found_binary, "--version"], timeout=30)
    checks = [Check("claude CLI", "ok" if version.ok else "fail",
                    version.stdout.strip() or proc.tail(version.stderr, 2), "" if version.ok else "Reinstall the CLI.")]
    checks.append(check_claude_login(loaded, found_binary) if version.ok else
                  Check("claude login", "warn", "not checked: the CLI does not run", ""))
    return checks


def check_claude_login(loaded: LoadedConfig, binary: str) -> Check:
    """Ask the CLI itself (`claude auth status`) in the environment the daemon will give it."""
    from coffee_maker.agent.auth import api_key_removed, auth_fix, claude_login_status

    agent = loaded.config.agent
    status = claude_login_status(agent, binary=binary)
    if status.logged_in:
        note = ("; ANTHROPIC_API_KEY is set but not used (auth = \"subscription\")"
                if api_key_removed(agent) else "")
        return Check("claude login", "ok", f"logged in: {status.detail}{note}")
    if status.logged_in is None:  # an older CLI without `auth status`: look for its credentials file
        home = Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home() / ".claude")
        found = (home / ".credentials.json").exists() or bool(os.environ.get("CLAUDE_CODE_OAUTH_TOKEN")) or (
            agent.auth == "api_key" and bool(os.environ.get("ANTHROPIC_API_KEY") or agent.env.get("ANTHROPIC_API_KEY")))
        return Check("claude login", "ok" if found else "warn",
                     f"credentials found ({status.detail})" if found else f"could not tell ({status.detail})",
                     "" if found else auth_fix(agent))
    detail = ("ANTHROPIC_API_KEY is set but will be removed (auth = \"subscription\"), and the CLI is not logged in"
              if api_key_removed(agent) else
              "ANTHROPIC_API_KEY is missing (auth = \"api_key\")" if agent.auth == "api_key" else
              "the CLI is not logged in")
    return Check("claude login", "fail", detail, auth_fix(agent))


def check_forge(loaded: LoadedConfig) -> Check:
    """What the daemon will do: build the forge as it does, then ask the forge whether the token works."""
    from coffee_maker.vcs.forge import make_forge

    try:
        detail = make_forge(loaded).verify()
    except CoffeeMakerError as exc:
        return Check("forge", "fail", exc.message, "`coffee-maker run` stops on this until it is fixed.")
    return Check("forge", "ok", detail)


def check_channels(loaded: LoadedConfig) -> list[Check]:
    """The escalation channels as the daemon builds them; a channel it would skip is a row saying why."""
    from coffee_maker.notify import Inbox, build_channels

    channels = list(loaded.config.notify.channels)
    checks = []
    skipped: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="coffee-maker-doctor-") as scratch:  # doctor writes no state
        inbox = Inbox(StateLayout(Path(scratch)).inbox_db)
        try:
            build_channels(loaded, inbox, skipped=skipped)
        finally:
            inbox.close()
    why = dict(skipped)
    slack = loaded.config.notify.slack
    if "slack" in channels:
        checks.append(Check("slack", "fail", f"skipped: {why['slack']}", "Set them, then restart the daemon.")
                      if "slack" in why else
                      Check("slack", "ok", f"channel {slack.channel}, tokens from ${slack.bot_token_env} "
                            f"and ${slack.app_token_env}"))
    checks += [Check(name, "fail", f"skipped: {reason}", "Fix [notify], or take it out of [notify] channels.")
               for name, reason in skipped if name not in ("slack", "terminal")]
    if "desktop" in channels:
        bus = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
        sender = shutil.which("notify-send")
        ok = bool(bus) or os.uname().sysname == "Darwin"
        checks.append(Check("desktop", "ok" if ok else "warn",
                            "session bus found" if ok else "no desktop session (DBUS_SESSION_BUS_ADDRESS unset)",
                            "" if ok else ("Desktop notifications are skipped here; use Slack or `coffee-maker answer`."
                                           + ("" if sender else " (notify-send is not installed either)"))))
    if not channels:
        checks.append(Check("channels", "warn", "no escalation channel configured",
                            "Questions that need a person will time out to the safe default; add [notify] channels."))
    return checks


def run_checks(loaded: LoadedConfig) -> list[Check]:
    checks = [Check("config", "fail", loaded.error, "Fix it, then `coffee-maker config check`; the rows below "
                    "use the defaults.") if loaded.error else
              Check("config", "ok", str(loaded.source) if loaded.source else "defaults (no config file)")]
    checks += check_git(loaded)
    checks.append(check_roadmap(loaded))
    test_command = loaded.config.git.test_command
    checks.append(Check("tests", "ok", f"the safety gate runs `{test_command}`") if test_command else
                  Check("tests", "warn", "no [git] test_command: the safety gate cannot run your tests",
                        "Set [git] test_command, e.g. \"pytest -q\"."))
    checks += check_agent(loaded)
    checks.append(check_forge(loaded))
    checks += check_channels(loaded)
    return checks


def doctor(loaded: LoadedConfig, *, as_json: bool) -> int:
    checks = run_checks(loaded)
    failed = [c for c in checks if c.status == "fail"]
    if as_json:
        _common.print_json({"ok": not failed, "checks": [asdict(c) for c in checks]})
        return 1 if failed else 0
    table = Table(title=f"coffee-maker doctor — {loaded.repo}", title_justify="left")
    for column in ("check", "", "detail", "how to fix"):
        table.add_column(column)
    mark = {"ok": "[green]✓[/]", "warn": "[yellow]![/]", "fail": "[red]✗[/]"}
    for c in checks:
        table.add_row(c.name, mark[c.status], escape(c.detail), escape(c.fix))
    console = _common.console()
    console.print(table)
    console.print("[red]Some checks failed.[/]" if failed else "[green]Ready to run.[/]")
    return 1 if failed else 0
