"""Event parsing throughput over a recorded Claude Code stream-json transcript.

The transcript (bench/data/claude_transcript.jsonl) was recorded from the real CLI
(`claude -p … --output-format stream-json --verbose`) against the fake Anthropic API:
init, assistant text/tool_use, tool results, a can_use_tool request and the result.
It is replayed until at least 200,000 lines have been parsed; the best of 5 rounds
is reported (the machine is shared). Target: >= 100,000 lines/s.

    .venv/bin/python bench/bench_agent_parse.py
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from coffee_maker.agent.claude.protocol import parse_line

TRANSCRIPT = Path(__file__).parent / "data" / "claude_transcript.jsonl"


def main(min_lines: int = 200_000, rounds: int = 5) -> None:
    lines = [line.encode() for line in TRANSCRIPT.read_text().splitlines() if line.strip()]
    repeat = max(1, min_lines // len(lines))
    batch = lines * repeat
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        events = 0
        for raw in batch:
            parsed = parse_line(raw)
            events += len(parsed) if parsed else 0
        elapsed = time.perf_counter() - start
        rates.append(len(batch) / elapsed)
    size = sum(map(len, lines)) / len(lines)
    print(f"transcript: {len(lines)} lines (mean {size:.0f} bytes), replayed to {len(batch):,} lines per round")
    print(f"parse throughput: best {max(rates):,.0f} lines/s, median {statistics.median(rates):,.0f} lines/s "
          f"over {rounds} rounds (target >= 100,000)")


if __name__ == "__main__":
    main()
