"""`coffee-maker demo`: run the daemon end to end on a built-in sandbox."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("demo", help="run the daemon on a built-in sandbox (offline, < 1 min)", parents=[common])
    parser.add_argument("--dir", default="demo-sandbox", help="where to build the sandbox (default: ./demo-sandbox)")
    parser.add_argument("--answer-delay", type=float, default=3.0,
                        help="seconds the demo waits before answering the escalated question")
    parser.set_defaults(func=lambda a: demo(Path(a.dir), answer_delay_s=a.answer_delay))


def demo(root: Path, *, answer_delay_s: float) -> int:
    from coffee_maker.demo import run_demo

    return run_demo(root.resolve(), answer_delay_s=answer_delay_s)
