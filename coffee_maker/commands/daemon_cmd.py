"""`coffee-maker run | status | stop | logs` — the daemon and its controls."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from coffee_maker.commands import _common
from coffee_maker.config import LoadedConfig
from coffee_maker.daemon.lock import lock_holder
from coffee_maker.errors import CoffeeMakerError, UsageError
from coffee_maker.observe.logging import configure_logging


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    run = sub.add_parser("run", help="run the daemon (leave it running)", parents=[common])
    run.add_argument("--once", action="store_true", help="work on one priority (or resume one), then exit")
    run.add_argument("--priority", metavar="ID", help="work on this priority only, then exit")
    run.add_argument("--dry-run", action="store_true", help="show what would be done, change nothing")
    run.set_defaults(func=lambda a: run_daemon(_common.load(a), once=a.once, only=a.priority, dry_run=a.dry_run,
                                               log_level=getattr(a, "log_level", None)))

    status = sub.add_parser("status", help="what the daemon is doing", parents=[common])
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=lambda a: show_status(_common.load_for_state(a), as_json=a.json))

    stop = sub.add_parser("stop", help="stop the running daemon cleanly (SIGTERM)", parents=[common])
    stop.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for it to exit")
    stop.set_defaults(func=lambda a: stop_daemon(_common.load_for_state(a), timeout_s=a.timeout))

    logs = sub.add_parser("logs", help="show the daemon's recent log lines as readable text (the file itself is JSON lines)", parents=[common])
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.add_argument("-n", "--lines", type=int, default=40, help="how many recent lines")
    logs.set_defaults(func=lambda a: show_logs(_common.load_for_state(a), follow=a.follow, lines=a.lines))


def run_daemon(loaded: LoadedConfig, *, once: bool, only: str | None, dry_run: bool, log_level: str | None) -> int:
    from coffee_maker.daemon import wiring
    from coffee_maker.daemon.service import DaemonService

    if only is not None:  # the same id forms as `roadmap show`, and no silent no-op for a blocked one
        from coffee_maker.daemon.planning import chosen_priority
        from coffee_maker.roadmap import read_roadmap

        only = chosen_priority(loaded, read_roadmap(loaded.roadmap_path)[1], only).id
    observe = loaded.config.observe
    if dry_run:  # changes nothing, so writes no log file either
        configure_logging(log_level or observe.log_level)
        from coffee_maker.commands.dry_run import show_dry_run

        return show_dry_run(loaded, only=only)
    configure_logging(log_level or observe.log_level, log_dir=loaded.state_dir, max_bytes=observe.log_max_bytes,
                      backups=observe.log_backups)
    from coffee_maker.web import WebBeside

    web = WebBeside(loaded)  # the dashboard and inbox, started once the daemon holds its lock

    def build(current: LoadedConfig, wake: threading.Event) -> Any:
        daemon = wiring.build_daemon(current, wake)
        web.attach(wake)
        return daemon

    service = DaemonService(loaded, build)
    try:
        return service.run(once=once or only is not None, only=only)
    finally:
        web.close()


def status_data(loaded: LoadedConfig) -> dict[str, Any]:
    from coffee_maker.daemon.state import Phase, StateStore

    db = loaded.layout.state_db
    pid = lock_holder(loaded.layout.lock)
    data: dict[str, Any] = {"running": pid is not None, "pid": pid, "repo": str(loaded.repo)}
    if not db.exists():
        claims = other_claims(loaded)
        data.update(priorities=[], current=None, phase=None, pending_questions=0, other_claims=claims,
                    next_up=_next_up(loaded, frozenset(c["priority"] for c in claims)))
        return data
    store = StateStore(db)
    info = store.info()
    started = info.get("started")
    running = data["running"]
    delay = loaded.config.daemon.retry_delay_s
    data.update(
        current=info.get("current") if running else None, phase=info.get("phase") if running else None,
        last_outcome=info.get("last_outcome"),
        elapsed_s=round(time.time() - started) if started and info.get("current") and running else None,
        cost_today_usd=round(store.day_cost(time.strftime("%Y-%m-%d")), 4),
        # What a running daemon waits for, the problem it waits to see fixed, the agent's last action.
        waiting_for=info.get("waiting_for") if running else None, problem=info.get("problem") if running else None,
        last_action=info.get("last_action"), forge_problem=info.get("forge_problem") if running else None,
        priorities=[{"id": s.priority, "phase": s.phase.value, "attempt": s.attempt, "branch": s.branch,
                     "pr_url": s.pr_url, "cost_usd": round(s.cost_usd, 4), "reason": s.reason,
                     "retry_at": s.retry_due(delay) if s.phase is Phase.RETRY else None} for s in store.all()],
    )
    current = next((p for p in data["priorities"] if p["id"] == data["current"]), None)
    data["current_cost_usd"] = current["cost_usd"] if current else None
    data["pending_questions"] = _pending_count(loaded)
    data["lanes"] = _lanes(loaded, info, data["priorities"]) if running else []
    data["other_claims"] = other_claims(loaded)
    # Past what its lanes work on now, and what other daemons hold: the daemon would not pick those either.
    data["next_up"] = _next_up(loaded, frozenset(lane["priority"] for lane in data["lanes"])
                               | frozenset(c["priority"] for c in data["other_claims"]))
    store.close()
    return data


def other_claims(loaded: LoadedConfig) -> list[dict[str, Any]]:
    """Live claims other daemons hold on the shared remote (one fetch of the claim namespace)."""
    if loaded.config.daemon.claims is False:
        return []
    from coffee_maker.vcs.claims import ClaimStore, owner_id

    store = ClaimStore.from_config(loaded)
    ours = owner_id(loaded.state_dir, create=False)
    try:
        claims = store.list()
    except Exception:  # noqa: BLE001 — no remote, offline, a refused namespace: status still prints the rest
        return []
    now = time.time()
    return [{"priority": c.priority_id, "owner": c.owner, "expires_in_s": round(c.expires_at - now)}
            for c in sorted(claims, key=lambda c: c.priority_id)
            if c.owner != ours and not c.expired(now, store.margin_s)]


def _lanes(loaded: LoadedConfig, info: dict[str, Any], priorities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each running lane: priority, phase, elapsed, cost, and what it waits for (a person's question first)."""
    from coffee_maker.daemon.status import running_lanes

    questions: dict[str, str] = {}
    try:
        from coffee_maker.notify.inbox import Inbox

        if loaded.layout.inbox_db.exists():
            inbox = Inbox(loaded.layout.inbox_db)
            for question in inbox.waiting():
                # The first line: the question; the lines after it (the rule and reason) are for `pending`.
                summary = question.text.strip().splitlines()[0] if question.text.strip() else ""
                questions.setdefault(question.priority or "", f"you: question {question.id} ({summary})")
            inbox.close()
    except Exception:  # noqa: BLE001, S110 — status must always print something
        pass
    return running_lanes(info, cost={p["id"]: p["cost_usd"] for p in priorities}, questions=questions)


def _pending_count(loaded: LoadedConfig) -> int | None:
    try:
        from coffee_maker.notify.inbox import Inbox
    except ImportError:
        return None
    try:
        inbox = Inbox(loaded.layout.inbox_db)
        return len(inbox.waiting())  # questions of a stopped daemon are asked again on resume
    except Exception:  # noqa: BLE001 — status must always print something
        return None


def _next_up(loaded: LoadedConfig, running: frozenset[str]) -> str | None:
    """What the daemon would pick next: the same planning the daemon does (merged counts as complete),
    past ``running`` (what its lanes work on now, and what other daemons hold claims on)."""
    from coffee_maker.daemon.planning import plan
    from coffee_maker.roadmap import read_roadmap

    try:
        nxt, _ = plan(loaded, read_roadmap(loaded.roadmap_path)[1], running=running)
    except CoffeeMakerError:
        return None
    return f"{nxt.id}: {nxt.title}" if nxt else None


def show_status(loaded: LoadedConfig, *, as_json: bool) -> int:
    data = status_data(loaded)
    if as_json:
        _common.print_json(data)
        return 0
    console = _common.console()
    head = f"[green]running[/] (pid {data['pid']})" if data["running"] else "[dim]not running[/]"
    console.print(f"coffee-maker: {head} — {data['repo']}")
    for lane in data.get("lanes") or []:
        waits = f" · waiting for {escape(str(lane['waiting_for']))}" if lane.get("waiting_for") else ""
        console.print(f"  lane {lane['lane']}: [bold]{lane['priority']}[/] · {lane['phase']} · "
                      f"{lane.get('elapsed_s') or 0}s · ${lane.get('cost_usd') or 0:.2f}{waits}")
    # With several lanes the lane rows say it all; the single "now"/"agent" lines (the last action of
    # whichever lane acted last) would name one lane's action beside another's priority.
    if data.get("current") and (not data.get("lanes") or loaded.config.daemon.lanes == 1):
        console.print(f"  now: [bold]{data['current']}[/] · {data.get('phase')} · {data.get('elapsed_s') or 0}s"
                      f" · ${data.get('current_cost_usd') or 0:.2f}")
        if data.get("last_action"):
            console.print(f"  agent: {escape(str(data['last_action']))}")
    if data.get("problem"):
        console.print(f"  [red]waiting for a fix:[/] {escape(str(data['problem']))}")
    elif data.get("waiting_for") and not data.get("current"):
        console.print(f"  waiting for: {escape(str(data['waiting_for']))}")
    if data.get("forge_problem"):
        console.print(f"  [yellow]forge:[/] {escape(str(data['forge_problem']))}")
    if data.get("last_outcome"):
        console.print(f"  last: {escape(str(data['last_outcome']))}")
    console.print(f"  next: {escape(str(data.get('next_up') or 'nothing planned is ready'))}")
    for claim in data.get("other_claims") or []:
        console.print(f"  claimed elsewhere: [bold]{claim['priority']}[/] by {escape(claim['owner'])} "
                      f"(lease ends in {claim['expires_in_s']}s)")
    if data.get("pending_questions"):
        console.print(f"  [yellow]pending questions: {data['pending_questions']}[/] (see `coffee-maker pending`)")
    if data.get("cost_today_usd") is not None:
        console.print(f"  cost today: ${data['cost_today_usd']:.2f}")
    if data["priorities"]:
        table = Table(title="priorities the daemon has touched", title_justify="left")
        for column in ("id", "phase", "attempt", "cost", "PR / reason"):
            table.add_column(column)
        for p in data["priorities"]:
            detail = p["pr_url"] or p["reason"]
            if p.get("retry_at"):
                detail = f"next attempt at {time.strftime('%H:%M:%S', time.localtime(p['retry_at']))} — {detail}"
            table.add_row(p["id"], p["phase"], str(p["attempt"]), f"${p['cost_usd']:.2f}", escape(detail))
        console.print(table)
        from coffee_maker.daemon.state import unblock_hint

        for p in data["priorities"]:
            if p["phase"] == "blocked":
                console.print(f"  [red]{p['id']} is blocked.[/] {escape(unblock_hint(p['id']))}")
            elif p["phase"] == "skipped":
                console.print(f"  {p['id']} is skipped; `coffee-maker retry {p['id']}` takes it back.")
    return 0


def stop_daemon(loaded: LoadedConfig, *, timeout_s: float) -> int:
    pid = lock_holder(loaded.layout.lock)
    if pid is None:
        _common.console().print("No coffee-maker daemon is running for this repository.")
        return 0
    if pid <= 0:
        raise CoffeeMakerError("The daemon lock is held but its pid is unreadable; stop the process by hand.")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if lock_holder(loaded.layout.lock) is None:
            _common.console().print(f"Stopped the daemon (pid {pid}).")
            return 0
        time.sleep(0.1)
    raise CoffeeMakerError(f"The daemon (pid {pid}) did not stop within {timeout_s:.0f}s; it may be finishing a step.")


def show_logs(loaded: LoadedConfig, *, follow: bool, lines: int) -> int:
    path = loaded.layout.log_file
    if not path.exists():
        raise UsageError(f"No log yet at {path}: the daemon has not run in this repository.")
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh.readlines()[-lines:]:
            _print_log_line(line)
        while follow:
            line = fh.readline()
            if line:
                _print_log_line(line)
                continue
            if _rotated(path, fh):
                fh = path.open(encoding="utf-8", errors="replace")  # noqa: SIM115 — follows rotation
                continue
            time.sleep(0.2)
    return 0


def _rotated(path: Path, fh: Any) -> bool:
    try:
        return os.stat(path).st_ino != os.fstat(fh.fileno()).st_ino
    except FileNotFoundError:
        return False


def _print_log_line(line: str) -> None:
    try:
        entry = json.loads(line)
    except json.JSONDecodeError:
        sys.stdout.write(line)
        return
    ts = str(entry.pop("timestamp", ""))[:19].replace("T", " ")
    level = entry.pop("level", "")
    event = entry.pop("event", "")
    entry.pop("logger", None)
    rest = " ".join(f"{k}={v}" for k, v in entry.items())
    sys.stdout.write(f"{ts} {level:<7} {event} {rest}\n")
    sys.stdout.flush()
