"""Shared bits of the fake agent CLIs: the scenario comes from FAKE_CLI_SCENARIO."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def scenario() -> str:
    return os.environ.get("FAKE_CLI_SCENARIO", "ok")


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def log_call(name: str, argv: list[str]) -> None:
    """Record argv in FAKE_CLI_LOG (one JSON line per call) so tests can check flags."""
    path = os.environ.get("FAKE_CLI_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"cli": name, "argv": argv, "cwd": os.getcwd()}) + "\n")


def write_file(name: str, content: str) -> None:
    Path(name).write_text(content, encoding="utf-8")


def hang() -> None:
    # A child in the same process group, to check that no orphan survives a stop.
    child = os.fork()
    if child == 0:
        time.sleep(120)
        os._exit(0)
    Path("hang.pids").write_text(f"{os.getpid()} {child} {os.getpgid(0)}\n")
    time.sleep(120)
