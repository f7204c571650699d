"""Options every command accepts, and helpers shared by command modules."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from coffee_maker.config import LoadedConfig, load_config


def common_options() -> argparse.ArgumentParser:
    """--repo, --roadmap and --log-level, accepted before or after the command name."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--repo", metavar="PATH", default=argparse.SUPPRESS,
                        help="the repository to work on (default: the one the current directory is in)")
    common.add_argument("--roadmap", metavar="PATH", default=argparse.SUPPRESS,
                        help="the roadmap file (default from config: docs/ROADMAP.md)")
    common.add_argument("--log-level", metavar="LEVEL", default=argparse.SUPPRESS,
                        choices=["debug", "info", "warning", "error"], help="console log level")
    return common


def repo_root(start: Path) -> Path:
    """The repository ``start`` is in, found as git does: the nearest directory upwards with a `.git`.

    From `docs/` every command then reads the same config, state and inbox as from the top.
    A directory in no repository is returned as is (doctor then says it is not one).
    """
    start = start.expanduser().resolve()
    for directory in (start, *start.parents):
        if (directory / ".git").exists():  # a directory, or a worktree's `.git` file
            return directory
    return start


def repo_arg(args: argparse.Namespace) -> str:
    """--repo, or the current directory, taken up to the root of its repository."""
    return str(repo_root(Path(getattr(args, "repo", "."))))


def roadmap_arg(args: argparse.Namespace) -> str | None:
    value = getattr(args, "roadmap", None)
    return str(value) if value is not None else None


def load(args: argparse.Namespace) -> LoadedConfig:
    """The configuration for the command's --repo and --roadmap."""
    return load_config(repo_arg(args), roadmap=roadmap_arg(args))


def load_for_state(args: argparse.Namespace, *, warn: bool = True) -> LoadedConfig:
    """The configuration, or — when it is broken — enough of it to reach the state directory.

    `stop`, `pending`, `answer`, `logs` and `status` need only the state directory: a typo in
    the config must not lock the person out of a running daemon. The problem is said on stderr.
    """
    loaded = load_config(repo_arg(args), roadmap=roadmap_arg(args), lenient=True)
    if loaded.error and warn:
        sys.stderr.write(f"coffee-maker: warning: {loaded.error} (Using the state directory {loaded.state_dir}.)\n")
    return loaded


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
