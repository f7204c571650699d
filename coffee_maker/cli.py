"""Command-line entry point: argument parsing dispatches, commands do the work.

This module holds the one error boundary: known errors become one sentence and
exit 1 (2 for bad usage or input), Ctrl-C exits 130, and anything unexpected
prints a short message and writes a crash report with the traceback and versions.
"""

from __future__ import annotations

import argparse
import errno
import os
import platform
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from coffee_maker import __version__
from coffee_maker.commands import _common
from coffee_maker.errors import CoffeeMakerError


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that exits 2 with one sentence (its default already does; keep the prog name)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"coffee-maker: error: {message}\n")
        raise SystemExit(2)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    from coffee_maker.commands import command_modules

    common = _common.common_options()
    parser = _ArgumentParser(
        prog="coffee-maker",
        description="An autonomous roadmap daemon: roadmap → coding agent → pull request.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"coffee-maker {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_ArgumentParser)
    for module in command_modules(argv):
        module.register(sub, common)
    _describe_subcommands(parser)
    return parser


def _describe_subcommands(parser: argparse.ArgumentParser) -> None:
    """`coffee-maker X --help` opens with a sentence: a command's one-line help, unless it has a description."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for choice in action._choices_actions:
            child = action.choices[choice.dest]
            if not child.description and choice.help:
                child.description = choice.help[0].upper() + choice.help[1:] + "."
            _describe_subcommands(child)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser(args_list)
        args = parser.parse_args(args_list)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        _common.setup_logging(args)
        return int(args.func(args))
    except SystemExit as exc:  # argparse usage errors and --help
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except KeyboardInterrupt:
        sys.stderr.write("\nInterrupted.\n")
        return 130
    except CoffeeMakerError as exc:
        sys.stderr.write(f"coffee-maker: {exc.message}\n")
        return exc.exit_code
    except BrokenPipeError:
        # `coffee-maker … | head`: the reader went away; that is not our error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        sentence = not_writable(exc)
        if sentence is None:
            return _crashed(exc, args_list)
        sys.stderr.write(f"coffee-maker: {sentence}\n")
        return 1
    except Exception as exc:  # noqa: BLE001 — the one place that catches everything
        return _crashed(exc, args_list)


_NOT_WRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM}


def not_writable(exc: OSError) -> str | None:
    """The sentence for a directory coffee-maker cannot write (a read-only checkout), or None."""
    if exc.errno not in _NOT_WRITABLE or not exc.filename:
        return None
    return (f"Cannot write {exc.filename}: {exc.strerror}. coffee-maker keeps its state, logs and worktrees in "
            "`[observe] state_dir` (default .coffee_maker inside the repository) and interaction logs in "
            "`[observe] interaction_log_dir`: make that directory writable, or set those keys (or "
            "COFFEE_MAKER_OBSERVE__STATE_DIR) to a writable directory.")


def _crashed(exc: BaseException, args_list: Sequence[str]) -> int:
    """Anything unexpected: a short message, and a crash report with the traceback."""
    report = write_crash_report(exc, args_list)
    sys.stderr.write(
        f"coffee-maker: unexpected error: {type(exc).__name__}: {exc}\n"
        f"A crash report with the details was written to {report}. Please include it in a bug report.\n"
    )
    return 1


def write_crash_report(exc: BaseException, argv: Sequence[str]) -> Path:
    """Write the traceback and versions to a file; return its path."""
    state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    directory = Path(state_home) / "coffee-maker" / "crashes"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
    lines = [
        f"coffee-maker {__version__}",
        f"python {sys.version.split()[0]} on {platform.platform()}",
        f"argv: {' '.join(argv)}",
        f"cwd: {os.getcwd()}",
        "",
        "".join(traceback.format_exception(exc)),
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
