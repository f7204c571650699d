"""`coffee-maker interactions`: read the interaction log (every decision, by rule or by a person)."""

from __future__ import annotations

import argparse
import json
import sys

from rich.markup import escape
from rich.table import Table

from coffee_maker.commands import _common
from coffee_maker.config import LoadedConfig

TYPES = ["auto_response", "user_response", "timeout_default", "permission"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    inter = sub.add_parser("interactions", help="list logged interactions", parents=[common])
    inter.add_argument("--day", help="YYYY-MM-DD (default: all days)")
    inter.add_argument("--priority", help="only this priority, e.g. 'PRIORITY 2'")
    inter.add_argument("--type", dest="kind", choices=TYPES)
    inter.add_argument("--json", action="store_true", help="one JSON object per line")
    inter.set_defaults(func=lambda a: list_interactions(_common.load(a), day=a.day, priority=a.priority,
                                                        kind=a.kind, as_json=a.json))


def list_interactions(loaded: LoadedConfig, *, day: str | None, priority: str | None, kind: str | None,
                      as_json: bool) -> int:
    from coffee_maker.interaction.log import InteractionLog

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
