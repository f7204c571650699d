"""Lanes: wall time of six independent priorities with lanes = 1 vs lanes = 3, in the same run.

Each priority's scripted agent works ``--work`` seconds; PRIORITY 1 asks a person, who answers
``--answer-delay`` seconds after the question appears. Each measurement is a fresh demo sandbox
and a fresh daemon process (`python bench/bench_lanes.py --one N`), timed from the start of the
process to the sixth open PR; the two settings alternate run by run so load hits both. The
process reports its peak RSS (VmHWM), so the difference between the settings is the memory of
the extra lanes (the scripted agent runs inside the daemon; a real agent's CLI is a process of
its own and is not counted here).

    .venv/bin/python bench/bench_lanes.py --runs 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one(lanes: int, work_s: float, answer_delay_s: float) -> dict[str, float]:
    from coffee_maker.daemon.state import Phase, StateStore
    from coffee_maker.demo_lanes import answer_first_question, build_lanes_sandbox
    from coffee_maker.notify.inbox import Inbox
    from coffee_maker.testing.daemon_run import run_daemon_until

    with tempfile.TemporaryDirectory(prefix="bench-lanes-") as tmp:
        project = build_lanes_sandbox(Path(tmp) / "s", count=6, lanes=lanes, work_s=work_s, asking={1})
        db, inbox_db = project / ".coffee_maker" / "state.db", project / ".coffee_maker" / "inbox.db"
        stop = threading.Event()

        def person() -> None:
            while not stop.is_set() and not (inbox_db.exists() and Inbox(inbox_db).waiting()):
                stop.wait(0.05)
            if not stop.wait(answer_delay_s):
                answer_first_question(project)

        def settled() -> bool:
            return db.exists() and sum(s.phase is Phase.PR_OPEN for s in StateStore(db).all()) == 6

        threading.Thread(target=person, daemon=True).start()
        started = time.monotonic()
        ok = run_daemon_until(project, settled, timeout_s=600)
        elapsed = time.monotonic() - started
        stop.set()
        if not ok:
            raise SystemExit(f"lanes = {lanes}: the six priorities did not all reach a PR")
    return {"lanes": lanes, "wall_s": elapsed, "peak_rss_mb": _peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="measurements per setting (alternating)")
    parser.add_argument("--work", type=float, default=3.0, help="seconds each scripted agent works")
    parser.add_argument("--answer-delay", type=float, default=8.0, help="seconds before the person answers")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # one measurement, in this process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.work, args.answer_delay)))
        return
    results: dict[int, list[dict[str, float]]] = {1: [], 3: []}
    for _ in range(args.runs):
        for lanes in (1, 3):
            out = subprocess.run([sys.executable, __file__, "--one", str(lanes), "--work", str(args.work),
                                  "--answer-delay", str(args.answer_delay)],
                                 check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
            results[lanes].append(json.loads(out))
            print(f"lanes = {lanes}: {results[lanes][-1]['wall_s']:.2f} s, "
                  f"peak RSS {results[lanes][-1]['peak_rss_mb']:.1f} MB", flush=True)
    wall = {n: statistics.median(r["wall_s"] for r in rs) for n, rs in results.items()}
    rss = {n: statistics.median(r["peak_rss_mb"] for r in rs) for n, rs in results.items()}
    print(f"median wall time: lanes = 1 {wall[1]:.2f} s, lanes = 3 {wall[3]:.2f} s → ratio "
          f"{wall[3] / wall[1]:.3f} (target ≤ 0.45)")
    print(f"median peak RSS: lanes = 1 {rss[1]:.1f} MB, lanes = 3 {rss[3]:.1f} MB → "
          f"{(rss[3] - rss[1]) / 2:.1f} MB per extra lane")


if __name__ == "__main__":
    main()
