"""`coffee-maker interactions`: read the interaction log (every decision, by rule or by a person)."""

from __future__ import annotations

import argparse
import datetime
import json
import sys

from rich.markup import escape
from rich.table import Table

from coffee_maker.commands import _common
from coffee_maker.config import LoadedConfig
from coffee_maker.errors import UsageError

TYPES = ["auto_response", "user_response", "timeout_default", "permission"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    inter = sub.add_parser(
        "interactions", help="list logged interactions", parents=[common],
        description="List every question and permission request the agent made, the answer, and who gave it "
                    "(a rule, a person, or the safe default on timeout), from the interaction logs.")
    inter.add_argument("--day", help="YYYY-MM-DD (default: all days)")
    inter.add_argument("--priority", help="only this priority, e.g. 'PRIORITY 2' or '2'")
    inter.add_argument("--type", dest="kind", choices=TYPES, help="only this kind of interaction")
    inter.add_argument("--json", action="store_true", help="one JSON object per line")
    inter.set_defaults(func=lambda a: list_interactions(_common.load(a), day=a.day, priority=a.priority,
                                                        kind=a.kind, as_json=a.json))


def list_interactions(loaded: LoadedConfig, *, day: str | None, priority: str | None, kind: str | None,
                      as_json: bool) -> int:
    from coffee_maker.interaction.log import InteractionLog
    from coffee_maker.roadmap import normalise_id

    if day is not None:
        try:
            day = datetime.date.fromisoformat(day).isoformat()
        except ValueError:
            raise UsageError(f"--day must be a date written YYYY-MM-DD, e.g. {datetime.date.today()}; "
                             f"got {day!r}.") from None
    priority = normalise_id(priority) if priority else None
    records = list(InteractionLog(loaded.interaction_log_dir).read(day=day, priority=priority, kind=kind))
    if as_json:
        for record in records:
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        return 0
    console = _common.console()
    if not records:
        console.print(f"No interactions logged in {loaded.interaction_log_dir}.")
        return 0
    table = Table(title=f"interactions ({len(records)})", title_justify="left")
    for column in ("time", "priority", "type", "question", "response", "by", "s"):
        table.add_column(column)
    for r in records:
        table.add_row(str(r.get("timestamp", ""))[11:19], str(r.get("priority") or ""), str(r.get("interaction_type")),
                      escape(str(r.get("question", ""))[:80]), escape(str(r.get("response", ""))[:40]),
                      escape(str(r.get("response_method", ""))), f"{float(r.get('response_time_seconds') or 0):.1f}")
    console.print(table)
    return 0
