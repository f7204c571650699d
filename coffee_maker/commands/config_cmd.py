"""`coffee-maker config show|check`."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.markup import escape
from rich.table import Table

from coffee_maker.commands import _common
from coffee_maker.config import LoadedConfig


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("config", help="show or check the configuration", parents=[common])
    actions = parser.add_subparsers(dest="config_command", metavar="ACTION")
    show = actions.add_parser(
        "show", parents=[common], help="effective values and where each came from",
        description="Print every effective setting and where it came from (file, environment, default). "
                    "Rule lists are summarised as a count; --all prints each rule.")
    show.add_argument("--json", action="store_true", help="print JSON (always everything)")
    show.add_argument("--all", action="store_true", help="list every permission and question rule too")
    show.set_defaults(func=lambda a: show_config(_common.load(a), as_json=a.json, show_all=a.all))
    check = actions.add_parser("check", help="validate the configuration", parents=[common],
                               description="Validate coffee_maker.toml (or [tool.coffee_maker]) and the "
                                           "COFFEE_MAKER_* environment; exit 2 with one sentence per problem.")
    check.set_defaults(func=lambda a: check_config(_common.load(a)))
    parser.set_defaults(func=lambda a: show_config(_common.load(a), as_json=False, show_all=False))


def _flatten(values: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value and all(isinstance(k, str) for k in value) and not prefix.count("."):
            rows.extend(_flatten(value, dotted + "."))
        else:
            rows.append((dotted, value))
    return rows


def _structured(value: Any) -> bool:
    """A list of tables (the rules): shown as a count unless --all."""
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _rendered(key: str, value: Any, show_all: bool) -> list[tuple[str, str]]:
    if _structured(value):
        if not show_all:
            return [(key, f"{len(value)} entries (--all lists them)")]
        return [(f"{key}[{i}]", json.dumps(v, ensure_ascii=False, separators=(", ", ": "))) for i, v in enumerate(value)]
    return [(key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))]


def show_config(loaded: LoadedConfig, *, as_json: bool, show_all: bool = False) -> int:
    rows = [(key, value, loaded.origin(key)) for key, value in _flatten(loaded.config.dump())]
    if as_json:
        _common.print_json({
            "file": str(loaded.source) if loaded.source else None,
            "values": {key: {"value": value, "source": origin} for key, value, origin in rows},
        })
        return 0
    console = _common.console()
    source = f"{loaded.source} ({loaded.source_label})" if loaded.source else "no config file (defaults)"
    table = Table(title=f"coffee-maker configuration — {source}", title_justify="left")
    table.add_column("key", style="bold")
    table.add_column("value")
    table.add_column("from", style="dim")
    for key, value, origin in rows:
        for shown_key, shown in _rendered(key, value, show_all):
            table.add_row(shown_key, escape(shown), origin)
    console.print(table)
    return 0


def check_config(loaded: LoadedConfig) -> int:
    """Loading already validated everything; say so, and where it came from."""
    where = str(loaded.source) if loaded.source else "defaults (no coffee_maker.toml or [tool.coffee_maker])"
    _common.console().print(f"Configuration OK: {where}")
    return 0
