"""`coffee-maker doctor`: check everything the daemon needs, and say how to fix what is missing."""

from __future__ import annotations

import argparse
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from coffee_maker import proc
from coffee_maker.commands import _common
from coffee_maker.config import LoadedConfig
from coffee_maker.errors import CoffeeMakerError


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str
    fix: str = ""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("doctor", help="check git, forge, agent CLI, Slack and desktop set-up", parents=[common])
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=lambda a: doctor(_common.load(a), as_json=a.json))


def _git(repo: Path, *args: str) -> proc.Completed:
    return proc.run(["git", *args], cwd=repo, timeout=20)


def check_git(loaded: LoadedConfig) -> list[Check]:
    if shutil.which("git") is None:
        return [Check("git", "fail", "git is not installed", "Install git (e.g. `apt install git`).")]
    checks = [Check("git", "ok", _git(loaded.repo, "--version").stdout.strip())]
    inside = _git(loaded.repo, "rev-parse", "--is-inside-work-tree")
    if not inside.ok:
        return [*checks, Check("repository", "fail", f"{loaded.repo} is not a git repository",
                               "Run coffee-maker inside your repository, or pass --repo PATH.")]
    checks.append(Check("repository", "ok", str(loaded.repo)))
    remote = loaded.config.git.remote
    url = _git(loaded.repo, "remote", "get-url", remote)
    if url.ok:
        checks.append(Check("remote", "ok", f"{remote} → {url.stdout.strip()}"))
    else:
        checks.append(Check("remote", "fail", f"no remote named {remote!r}",
                            f"Add one: `git remote add {remote} URL` (or set [git] remote)."))
    name = _git(loaded.repo, "config", "user.name").stdout.strip()
    email = _git(loaded.repo, "config", "user.email").stdout.strip()
    if name and email:
        checks.append(Check("identity", "ok", f"{name} <{email}>"))
    else:
        checks.append(Check("identity", "fail", "no git user.name/user.email",
                            "Set them: `git config user.name 'Your Name'` and `git config user.email you@example.com`."))
    return checks


def check_roadmap(loaded: LoadedConfig) -> Check:
    from coffee_maker.roadmap import read_roadmap

    try:
        _, roadmap = read_roadmap(loaded.roadmap_path)
    except CoffeeMakerError as exc:
        return Check("roadmap", "fail", exc.message, "Run `coffee-maker init` for a starter roadmap.")
    planned = sum(1 for p in roadmap.priorities if p.status.value == "planned")
    status = "warn" if roadmap.warnings else "ok"
    return Check("roadmap", status, f"{len(roadmap.priorities)} priorities, {planned} planned, "
                 f"{len(roadmap.warnings)} warnings", "See `coffee-maker roadmap check`." if roadmap.warnings else "")


def check_agent(loaded: LoadedConfig) -> list[Check]:
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
    if agent.auth == "api_key":
        has_key = bool(os.environ.get("ANTHROPIC_API_KEY") or agent.env.get("ANTHROPIC_API_KEY"))
        checks.append(Check("claude login", "ok" if has_key else "fail", "API key " + ("set" if has_key else "missing"),
                            "" if has_key else "Export ANTHROPIC_API_KEY, or use [agent] auth = \"subscription\"."))
    else:
        home = Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home() / ".claude")
        logged_in = (home / ".credentials.json").exists() or bool(os.environ.get("CLAUDE_CODE_OAUTH_TOKEN"))
        checks.append(Check("claude login", "ok" if logged_in else "warn",
                            "subscription login found" if logged_in else f"no credentials in {home}",
                            "" if logged_in else "Run `claude` once and log in (or `claude setup-token`)."))
    return checks


def check_forge(loaded: LoadedConfig) -> Check:
    provider = loaded.config.forge.provider
    if provider == "local":
        return Check("forge", "ok", "local review branches (no forge)")
    token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN") or getattr(loaded.config.forge, "token", None)
    if provider in ("auto", "github", "gh") and not token and shutil.which("gh"):
        token = proc.run(["gh", "auth", "token"], timeout=10).stdout.strip() or None
    if provider == "gitlab":
        token = token or os.environ.get("GITLAB_TOKEN")
    if token:
        return Check("forge", "ok", f"{provider}: token found")
    return Check("forge", "warn", f"{provider}: no token; pull requests fall back to local review branches",
                 "Export GITHUB_TOKEN (or GITLAB_TOKEN), run `gh auth login`, or set [forge] provider = \"local\".")


def check_channels(loaded: LoadedConfig) -> list[Check]:
    channels = list(loaded.config.notify.channels)
    checks = []
    if "slack" in channels:
        slack = getattr(loaded.config.notify, "slack", None)
        bot = os.environ.get("SLACK_BOT_TOKEN") or getattr(slack, "bot_token", None)
        app = os.environ.get("SLACK_APP_TOKEN") or getattr(slack, "app_token", None)
        ok = bool(bot and app)
        checks.append(Check("slack", "ok" if ok else "fail", "bot and app tokens " + ("set" if ok else "missing"),
                            "" if ok else "Export SLACK_BOT_TOKEN (xoxb-…) and SLACK_APP_TOKEN (xapp-…, Socket Mode)."))
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
    checks = [Check("config", "ok", str(loaded.source) if loaded.source else "defaults (no config file)")]
    checks += check_git(loaded)
    checks.append(check_roadmap(loaded))
    if not loaded.config.git.test_command:
        checks.append(Check("tests", "warn", "no [git] test_command: the safety gate cannot run your tests",
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
