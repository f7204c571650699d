"""`coffee-maker config show|check`."""

from __future__ import annotations

import argparse
from typing import Any

from rich.markup import escape
from rich.table import Table

from coffee_maker.commands import _common
from coffee_maker.config import LoadedConfig


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("config", help="show or check the configuration", parents=[common])
    actions = parser.add_subparsers(dest="config_command", metavar="ACTION")
    show = actions.add_parser("show", help="effective values and where each came from", parents=[common])
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=lambda a: show_config(_common.load(a), as_json=a.json))
    check = actions.add_parser("check", help="validate the configuration", parents=[common])
    check.set_defaults(func=lambda a: check_config(_common.load(a)))
    parser.set_defaults(func=lambda a: show_config(_common.load(a), as_json=False))


def _flatten(values: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value and all(isinstance(k, str) for k in value) and not prefix.count("."):
            rows.extend(_flatten(value, dotted + "."))
        else:
            rows.append((dotted, value))
    return rows


def show_config(loaded: LoadedConfig, *, as_json: bool) -> int:
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
        table.add_row(key, escape(repr(value) if not isinstance(value, str) else value), origin)
    console.print(table)
    return 0


def check_config(loaded: LoadedConfig) -> int:
    """Loading already validated everything; say so, and where it came from."""
    where = str(loaded.source) if loaded.source else "defaults (no coffee_maker.toml or [tool.coffee_maker])"
    _common.console().print(f"Configuration OK: {where}")
    return 0
