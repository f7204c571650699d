"""CLI commands: one module per command group, each with ``register(subparsers, common)``.

Commands are plain functions with explicit arguments that return an exit code.
"""

from __future__ import annotations

from types import ModuleType


def command_modules() -> list[ModuleType]:
    """Every command group, in the order `coffee-maker --help` lists them."""
    from coffee_maker.commands import (
        agent_cmd,
        answer_cmd,
        config_cmd,
        daemon_cmd,
        demo_cmd,
        doctor_cmd,
        init_cmd,
        interactions_cmd,
        roadmap_cmd,
        rules_cmd,
        stats_cmd,
    )

    return [init_cmd, config_cmd, roadmap_cmd, agent_cmd, daemon_cmd, rules_cmd, answer_cmd, interactions_cmd, doctor_cmd,
            stats_cmd, demo_cmd]
