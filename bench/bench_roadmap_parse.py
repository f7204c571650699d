"""Parse time of the 1.2 MB head roadmap: coffee_maker's parser vs markdown-it-py, same run.

    .venv/bin/python bench/bench_roadmap_parse.py [--runs 20]

The two parsers run alternately (ours, theirs, ours, …) so a change in machine load
during the run affects both medians alike and the ratio stays meaningful.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from markdown_it import MarkdownIt

from coffee_maker.roadmap import parse_roadmap

FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "roadmaps" / "coffee_maker_head_2025-10-28.md"


def _timed(fn: Callable[[str], object], text: str) -> float:
    start = time.perf_counter()
    fn(text)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    text = FIXTURE.read_text(encoding="utf-8")
    md = MarkdownIt()
    parse_roadmap(text), md.parse(text)  # warm-up (regex compilation, imports)
    ours, theirs = [], []
    for _ in range(args.runs):
        ours.append(_timed(parse_roadmap, text))
        theirs.append(_timed(md.parse, text))
    ours_ms, theirs_ms = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
    print(f"file: {FIXTURE.name} ({len(text.encode()) / 1e6:.2f} MB, {text.count(chr(10))} lines), "
          f"runs: {args.runs}, Python {platform.python_version()}")
    print(f"coffee_maker parse_roadmap  median {ours_ms:8.2f} ms")
    print(f"markdown-it-py parse        median {theirs_ms:8.2f} ms")
    print(f"ratio ours/markdown-it      {ours_ms / theirs_ms:8.4f}  (target ≤ 0.05)")


if __name__ == "__main__":
    main()
