"""Options every command accepts, and helpers shared by command modules."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.console import Console

from coffee_maker.config import LoadedConfig, load_config


def common_options() -> argparse.ArgumentParser:
    """--repo, --roadmap and --log-level, accepted before or after the command name."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--repo", metavar="PATH", default=argparse.SUPPRESS,
                        help="the repository to work on (default: current directory)")
    common.add_argument("--roadmap", metavar="PATH", default=argparse.SUPPRESS,
                        help="the roadmap file (default from config: docs/ROADMAP.md)")
    common.add_argument("--log-level", metavar="LEVEL", default=argparse.SUPPRESS,
                        choices=["debug", "info", "warning", "error"], help="console log level")
    return common


def repo_arg(args: argparse.Namespace) -> str:
    return str(getattr(args, "repo", "."))


def roadmap_arg(args: argparse.Namespace) -> str | None:
    value = getattr(args, "roadmap", None)
    return str(value) if value is not None else None


def load(args: argparse.Namespace) -> LoadedConfig:
    """The configuration for the command's --repo and --roadmap."""
    return load_config(repo_arg(args), roadmap=roadmap_arg(args))


def setup_logging(args: argparse.Namespace) -> None:
    """Console logging at --log-level (warning by default for one-shot commands)."""
    from coffee_maker.observe.logging import configure_logging

    level = getattr(args, "log_level", None) or getattr(args, "default_log_level", None) or "warning"
    configure_logging(str(level))


def console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def print_json(value: Any) -> None:
    """One JSON document on stdout (commands' --json output)."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=None, default=str) + "\n")
