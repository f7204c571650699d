#!/usr/bin/env python3
"""The launcher people leave running: `python scripts/run_dev_daemon.py [--repo PATH] [options]`.

It is `coffee-maker run` with the same options; it exists so the daemon can be
started from a checkout without installing the console script.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coffee_maker.cli import main  # noqa: E402 — after the path set-up above

if __name__ == "__main__":
    raise SystemExit(main(["run", *sys.argv[1:]]))
