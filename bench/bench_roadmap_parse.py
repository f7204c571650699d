"""Parse time of the 1.2 MB head roadmap: coffee_maker's parser vs markdown-it-py, same run.

    .venv/bin/python bench/bench_roadmap_parse.py [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from markdown_it import MarkdownIt

from coffee_maker.roadmap import parse_roadmap

FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "roadmaps" / "coffee_maker_head_2025-10-28.md"


def _median_ms(fn: object, text: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(text)  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    text = FIXTURE.read_text(encoding="utf-8")
    md = MarkdownIt()
    parse_roadmap(text), md.parse(text)  # warm-up
    ours = _median_ms(parse_roadmap, text, args.runs)
    theirs = _median_ms(md.parse, text, args.runs)
    print(f"file: {FIXTURE.name} ({len(text.encode()) / 1e6:.2f} MB, {text.count(chr(10))} lines), runs: {args.runs}")
    print(f"coffee_maker parse_roadmap  median {ours:8.2f} ms")
    print(f"markdown-it-py parse        median {theirs:8.2f} ms")
    print(f"ratio ours/markdown-it      {ours / theirs:8.4f}  (target ≤ 0.05)")


if __name__ == "__main__":
    main()
