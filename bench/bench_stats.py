"""`coffee-maker stats` over 100,000 interactions: the SQL computation and the whole command.

Builds a throw-away repository whose telemetry holds ``--interactions`` interaction
records (plus attempts and notifications in proportion), then times ``compute()``
in-process and ``coffee-maker stats --json`` as a subprocess, several runs each.

    .venv/bin/python bench/bench_stats.py [--interactions 100000] [--runs 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from coffee_maker.observe.stats import compute
from coffee_maker.observe.telemetry import TelemetryStore
from coffee_maker.sqlite import connect

KINDS = ("permission", "auto_response", "user_response", "timeout_default")
CHANNELS = ("slack", "terminal", "desktop", "cli")


def populate(path: Path, interactions: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    store = TelemetryStore(path)
    start = datetime(2026, 9, 1, tzinfo=UTC)
    batch = []
    for i in range(interactions):
        kind = rng.choice(KINDS)
        escalated = kind != "auto_response" and rng.random() < 0.4
        channel = rng.choice(CHANNELS)
        timed_out = kind == "timeout_default"
        batch.append({
            "timestamp": (start + timedelta(seconds=i * 60)).isoformat(), "priority": f"PRIORITY {i % 40}",
            "phase": "implementation", "interaction_type": kind, "question": f"Allow Bash: command {rng.randrange(500)}",
            "response": "yes", "user_notified": escalated, "channels": [channel] if escalated else [],
            "response_method": "timeout_default" if timed_out else (f"person:{channel}:U1" if escalated else "rule:r"),
            "response_time_seconds": rng.expovariate(1 / 30) if escalated else 0.01, "timed_out": timed_out})
        if len(batch) == 5000:
            store.record_interactions(batch)
            batch = []
    if batch:
        store.record_interactions(batch)
    store.close()
    conn = connect(path)
    base = start.timestamp()
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO attempts (priority, attempt, started_at, ended_at, outcome, cost_usd, input_tokens, output_tokens,"
        " turns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(f"PRIORITY {i % 40}", i // 40 + 1, base + i * 3000, base + i * 3000 + rng.uniform(60, 3000),
          rng.choice(("pr_open", "error", "blocked", "merged")), rng.uniform(0.1, 5), 1000, 200, 10)
         for i in range(interactions // 50)])
    conn.executemany("INSERT INTO notifications (ts, channel, kind, ok, question_id) VALUES (?, ?, ?, ?, ?)",
                     [(base + i * 120, rng.choice(CHANNELS), "question", int(rng.random() < 0.95), None)
                      for i in range(interactions // 5)])
    conn.execute("COMMIT")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interactions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        db = repo / ".coffee_maker" / "telemetry.db"
        started = time.perf_counter()
        populate(db, args.interactions)
        print(f"populated {args.interactions:,} interactions in {time.perf_counter() - started:.1f} s")
        store = TelemetryStore(db)
        computed = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            stats = compute(store)
            computed.append(time.perf_counter() - t0)
        store.close()
        assert stats["interactions"]["total"] == args.interactions
        command = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "coffee_maker", "stats", "--json", "--repo", str(repo)], check=True,
                           stdout=subprocess.DEVNULL)
            command.append(time.perf_counter() - t0)
    print(f"compute() over {args.interactions:,} interactions: median {statistics.median(computed) * 1e3:.0f} ms, "
          f"min {min(computed) * 1e3:.0f} ms, max {max(computed) * 1e3:.0f} ms ({args.runs} runs)")
    print(f"`coffee-maker stats --json` (whole process): median {statistics.median(command) * 1e3:.0f} ms, "
          f"min {min(command) * 1e3:.0f} ms, max {max(command) * 1e3:.0f} ms ({args.runs} runs; target ≤ 1 s)")


if __name__ == "__main__":
    main()
