"""CLI commands: one module per command group, each with ``register(subparsers, common)``.

Commands are plain functions with explicit arguments that return an exit code.

Only the module of the command being run is imported: `coffee-maker answer` is on the
path a person waits on, and importing every command group (the daemon stack, rich
tables, Slack…) cost ~250 ms of start-up (docs/benchmarks.md, MessageHandler section).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType

#: Command name → the module that registers it, in the order `coffee-maker --help` lists them.
COMMANDS: dict[str, str] = {
    "init": "init_cmd",
    "config": "config_cmd",
    "roadmap": "roadmap_cmd",
    "agent": "agent_cmd",
    "run": "daemon_cmd",
    "status": "daemon_cmd",
    "stop": "daemon_cmd",
    "logs": "daemon_cmd",
    "retry": "retry_cmd",
    "skip": "retry_cmd",
    "rules": "rules_cmd",
    "pending": "answer_cmd",
    "answer": "answer_cmd",
    "interactions": "interactions_cmd",
    "doctor": "doctor_cmd",
    "stats": "stats_cmd",
    "web": "web_cmd",
    "demo": "demo_cmd",
}

#: Global options that take a value (skipped when looking for the command name).
_VALUE_OPTIONS = {"--repo", "--roadmap", "--log-level"}


def requested_command(argv: Sequence[str]) -> str | None:
    """The command name in ``argv``, or None (help, version, a typo)."""
    skip = False
    for token in argv:
        if skip:
            skip = False
        elif token in _VALUE_OPTIONS:
            skip = True
        elif not token.startswith("-"):
            return token if token in COMMANDS else None
    return None


def command_modules(argv: Sequence[str] | None = None) -> list[ModuleType]:
    """The modules to register: just the requested command's, or all of them."""
    command = requested_command(argv) if argv is not None else None
    if command is None and argv is not None and "--version" in argv:
        return []
    names = [COMMANDS[command]] if command else list(dict.fromkeys(COMMANDS.values()))
    return [importlib.import_module(f"coffee_maker.commands.{name}") for name in names]
