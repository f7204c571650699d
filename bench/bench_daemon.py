"""The daemon's own speed, on the demo sandbox with the scripted agent (offline).

    .venv/bin/python bench/bench_daemon.py react --edits 20
    .venv/bin/python bench/bench_daemon.py soak --priorities 500

react: a priority is appended to the roadmap (atomic save by rename) while the daemon
       idles; latency = save → the daemon records the priority as branched. p50/p99.
soak:  N one-step priorities in a row; resident memory after a warm-up and at the end,
       and the daemon's overhead per priority (wall time minus the agent's own run), percentiles.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _percentiles import describe_ms  # noqa: E402 — a sibling module of these scripts

from coffee_maker.config import load_config
from coffee_maker.daemon import wiring
from coffee_maker.daemon.service import DaemonService
from coffee_maker.daemon.state import StateStore
from coffee_maker.demo import build_sandbox

SCRIPT = {"steps": [{"write": "weather/gen_{n}.py", "content": "X = 1\n"}, {"result": "Done."}]}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _sandbox(root: Path, roadmap_tail: str = "") -> Path:
    project = build_sandbox(root)
    scripts = project.parent / "agent-scripts"
    for name in ("priority-1.json", "priority-2.json"):
        (scripts / name).unlink()
    (scripts / "default.json").write_text(json.dumps(
        {"steps": [{"say": "working"}, {"result": "Done."}]}))
    roadmap = project / "docs" / "ROADMAP.md"
    head = roadmap.read_text().split("## PRIORITY 1")[0]
    roadmap.write_text(head + roadmap_tail)
    config = project / "coffee_maker.toml"
    config.write_text(config.read_text().replace("poll_interval_s = 2", "poll_interval_s = 3600")
                      .replace('test_command = "python -m unittest discover -s tests -q"', 'test_command = "true"')
                      + "\n[observe]\nlog_level = \"warning\"\n")
    # The roadmap on main must hold the priorities, or the daemon cannot tick them on their branches.
    subprocess.run(["git", "commit", "-qam", "bench roadmap"], cwd=project, check=True)
    subprocess.run(["git", "push", "-q"], cwd=project, check=True)
    return project


def _priority(n: int) -> str:
    return f"\n## PRIORITY {n}: Generated work {n}\n\n**Status**: 📝 Planned\n\n- [ ] make gen_{n}.py\n"


class _Timed:
    """An agent that writes the priority's own file (real work for the gate) and times its run."""

    def __init__(self, agent: Any, priority: Any, owner: _TimedAgents) -> None:
        self.agent, self.priority, self.owner = agent, priority, owner

    def run(self, *args: Any, **kwargs: Any) -> Any:
        n = self.priority.id.split()[-1]
        Path(args[1], "weather", f"gen_{n}.py").write_text("X = 1\n")
        start = time.perf_counter()
        try:
            return self.agent.run(*args, **kwargs)
        finally:
            took = time.perf_counter() - start
            self.owner.agent_s += took
            self.owner.per_priority[self.priority.id] = self.owner.per_priority.get(self.priority.id, 0.0) + took

    def stop(self) -> None:
        self.agent.stop()


class _TimedAgents:
    """Wraps the agent factory to add up the agents' own run time, in total and per priority."""

    def __init__(self, factory: Any) -> None:
        self.factory, self.agent_s = factory, 0.0
        self.per_priority: dict[str, float] = {}

    def __call__(self, priority: Any, backend: str | None = None) -> _Timed:
        return _Timed(self.factory(priority, backend), priority, self)


def _start(project: Path, timed: _TimedAgents | None = None) -> tuple[DaemonService, threading.Thread]:
    def build(loaded: Any, wake: threading.Event) -> Any:
        daemon = wiring.build_daemon(loaded, wake)
        if timed is not None:
            timed.factory = daemon.services.agent_for
            daemon.services.agent_for = timed
        return daemon

    service = DaemonService(load_config(project), build, watch=True)
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    while service.daemon is None:
        time.sleep(0.01)
    return service, thread


def react(edits: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = _sandbox(Path(tmp) / "sb", _priority(1))
        service, thread = _start(project)
        store = StateStore(project / ".coffee_maker" / "state.db")
        latencies = []
        for n in range(2, edits + 2):
            while len(store.all()) < n - 1 or service.daemon.store.info().get("phase") != "idle":  # type: ignore[union-attr]
                time.sleep(0.01)
            time.sleep(0.3)  # truly idle
            roadmap = project / "docs" / "ROADMAP.md"
            tmp_file = roadmap.with_name(".ROADMAP.md.swp")
            tmp_file.write_text(roadmap.read_text() + _priority(n))
            saved = time.perf_counter()
            tmp_file.replace(roadmap)
            while store.get(f"PRIORITY {n}") is None:
                time.sleep(0.002)
            latencies.append(time.perf_counter() - saved)
        service.daemon.request_stop()  # type: ignore[union-attr]
        thread.join(30)
    print(f"roadmap edit → daemon reacts: {describe_ms(latencies, 0)} (target p99 ≤ 1000 ms; debounce 100 ms)")


def soak(count: int, warmup: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = _sandbox(Path(tmp) / "sb", "".join(_priority(n) for n in range(1, count + 1)))
        timed = _TimedAgents(None)
        started = time.perf_counter()
        service, thread = _start(project, timed)
        store = StateStore(project / ".coffee_maker" / "state.db")
        warm_rss = warm_t = warm_agent = None
        while True:
            done = sum(1 for s in store.all() if s.phase.value == "pr_open")
            if warm_rss is None and done >= warmup:
                warm_rss, warm_t, warm_agent = rss_mb(), time.perf_counter(), timed.agent_s
            if done >= count:
                break
            time.sleep(0.05)
        end_t, end_rss = time.perf_counter(), rss_mb()
        service.daemon.request_stop()  # type: ignore[union-attr]
        thread.join(60)
        overheads = _overheads(store, timed, warmup, count)
    assert warm_t is not None and warm_rss is not None and warm_agent is not None
    measured = count - warmup
    mean = ((end_t - warm_t) - (timed.agent_s - warm_agent)) / measured
    print(f"{count} priorities in {end_t - started:.0f} s; after {warmup}: RSS {warm_rss:.1f} MB, "
          f"after {count}: {end_rss:.1f} MB, growth {end_rss - warm_rss:+.1f} MB (target ≤ 10 MB)")
    print(f"daemon overhead per priority (branch, gate, commit, push, PR, roadmap tick; agent excluded): "
          f"{describe_ms(overheads, 0)} (mean {mean * 1000:.0f} ms) over the last {measured}")


def _overheads(store: StateStore, timed: _TimedAgents, warmup: int, count: int) -> list[float]:
    """Per priority: the time from the previous PR to its own, minus its agent's run (they run one by one)."""
    opened = {s.priority: next(at for _, to, at, _ in store.history(s.priority) if to == "pr_open")
              for s in store.all()}
    return [opened[f"PRIORITY {n}"] - opened[f"PRIORITY {n - 1}"] - timed.per_priority[f"PRIORITY {n}"]
            for n in range(warmup + 1, count + 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    r = sub.add_parser("react")
    r.add_argument("--edits", type=int, default=20)
    s = sub.add_parser("soak")
    s.add_argument("--priorities", type=int, default=500)
    s.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args()
    react(args.edits) if args.what == "react" else soak(args.priorities, args.warmup)


if __name__ == "__main__":
    main()
