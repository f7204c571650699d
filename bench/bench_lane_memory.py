"""Memory per lane with the real Claude Code CLI: the daemon's own share and each lane's agent process.

A fresh lanes sandbox and a `coffee-maker run` process per measurement, with ``[daemon] lanes``
= 1 and = 3 (alternating, so load hits both), the real CLI (the project's pinned copy) against
the local fake Anthropic API. Each lane's model answers its first turn with `sleep` (allowed by
rule), so every lane's CLI is alive at once; while they sleep the benchmark reads the
proportional set size (PSS, `/proc/<pid>/smaps_rollup`: shared pages divided among the processes
sharing them, so the sum is honest) of the daemon and of every process working in a lane's
worktree (the CLI and its tool's shell).

    .venv/bin/python bench/bench_lane_memory.py --runs 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLAUDE = ROOT / ".tools" / "claude-code" / "node_modules" / ".bin" / "claude"


def pss_mb(pid: int) -> float:
    """The process's proportional set size in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def processes_in(directory: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.readlink(entry / "cwd").startswith(str(directory)):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def lane_of(pid: int, worktrees: Path) -> str:
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd")).relative_to(worktrees).parts[0]
    except (OSError, ValueError, IndexError):
        return "?"


def one(lanes: int) -> dict[str, Any]:
    from coffee_maker.demo_lanes import build_lanes_sandbox
    from coffee_maker.testing.config_edit import set_config
    from coffee_maker.testing.fake_anthropic import FakeAnthropic, Turn

    def responder(body: dict[str, Any]) -> Turn | None:
        if not body.get("tools"):
            return None
        return Turn.tool("Bash", {"command": "sleep 20", "description": "wait"})  # every lane's CLI stays alive

    with tempfile.TemporaryDirectory(prefix="bench-lane-memory-") as tmp, FakeAnthropic(responder=responder) as api:
        project = build_lanes_sandbox(Path(tmp) / "s", count=3, lanes=lanes)
        set_config(project / "coffee_maker.toml", "agent", backend="claude", binary=str(CLAUDE), auth="api_key",
                   idle_timeout_s=120, total_timeout_s=300)
        worktrees = project / ".coffee_maker" / "worktrees"
        env = {**os.environ, **api.cli_env(), "HOME": tmp}
        daemon = subprocess.Popen([sys.executable, "-m", "coffee_maker", "run", "--repo", str(project)], cwd=project,
                                  env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            sleeping: list[int] = []
            while time.monotonic() < deadline:  # every lane's tool call running: the CLIs are all up
                pids = processes_in(worktrees)
                sleeping = [p for p in pids if Path(f"/proc/{p}/cmdline").read_bytes().startswith(b"sleep")]
                if len(sleeping) >= lanes:
                    break
                time.sleep(0.2)
            else:
                raise SystemExit(f"lanes = {lanes}: only {len(sleeping)} CLI(s) reached their tool call")
            time.sleep(1.0)  # let the CLIs settle after starting their tool
            by_lane: dict[str, float] = {}
            for pid in processes_in(worktrees):
                by_lane[lane_of(pid, worktrees)] = by_lane.get(lane_of(pid, worktrees), 0.0) + pss_mb(pid)
            return {"lanes": lanes, "daemon_pss_mb": pss_mb(daemon.pid), "agent_pss_mb": sorted(by_lane.values())}
        finally:
            daemon.terminate()
            try:
                daemon.wait(60)
            except subprocess.TimeoutExpired:
                daemon.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return
    if not CLAUDE.exists():
        raise SystemExit("the Claude CLI is not installed: run `make claude-cli` first")
    results: dict[int, list[dict[str, Any]]] = {1: [], 3: []}
    for _ in range(args.runs):
        for lanes in (1, 3):
            done = subprocess.run([sys.executable, __file__, "--one", str(lanes)], capture_output=True, text=True,
                                  check=True, cwd=ROOT)
            results[lanes].append(json.loads(done.stdout.strip().splitlines()[-1]))
    daemon = {n: statistics.median(r["daemon_pss_mb"] for r in rs) for n, rs in results.items()}
    agents = [mb for r in results[3] + results[1] for mb in r["agent_pss_mb"]]
    print(f"runs per setting: {args.runs}")
    print(f"daemon PSS, lanes = 1: {daemon[1]:.1f} MB   lanes = 3: {daemon[3]:.1f} MB   "
          f"per extra lane: {(daemon[3] - daemon[1]) / 2:+.1f} MB")
    print(f"one lane's agent (claude CLI and its tool), PSS: median {statistics.median(agents):.1f} MB, "
          f"min {min(agents):.1f}, max {max(agents):.1f} (n = {len(agents)})")
    print(f"a lane in all, median: {statistics.median(agents) + (daemon[3] - daemon[1]) / 2:.1f} MB")


if __name__ == "__main__":
    main()
