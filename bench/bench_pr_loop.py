"""The pull-request loop in the daemon: what following 20 idle PRs for an hour costs, and how long the daemon
takes from a red check to the agent's feedback.

Through the daemon's own ``PullRequestPoller`` (state in SQLite, git fetch of a demo sandbox, the real
GitHub provider against the fake forge over loopback). Time is simulated: each poll is one interval.

- idle: 20 PRs in review, CI green, one review thread each, nobody acting — requests and 304s.
- red → agent: a failing check already re-run once is seen; the time from the poll's start to the
  ``Feedback`` handed to the agent (log fetched and cut, triage, branch diff, state written), p50/p99.

    .venv/bin/python bench/bench_pr_loop.py [--prs 20] [--minutes 60] [--interval 60] [--red 30]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import structlog
from _percentiles import percentiles_ms

from coffee_maker.config import load_config
from coffee_maker.daemon import wiring
from coffee_maker.daemon.state import Phase
from coffee_maker.demo import build_sandbox
from coffee_maker.testing.fake_forge import FakeForge
from coffee_maker.vcs.forge.github import GitHubForge

LOG = ("##[group]Run pytest\nFAILED weather/convert.py::test_c2f - assert 211 == 212\n"
       "##[error]Process completed with exit code 1.\n")


def daemon_on(fake: FakeForge, root: Path) -> Any:
    project = build_sandbox(root)
    loaded = load_config(project)
    daemon = wiring.build_daemon(loaded, threading.Event())
    daemon.services.forge = GitHubForge(fake.url, "o", "r", "t", loaded.config.forge)
    return daemon


def idle(prs: int, polls: int) -> dict[str, int]:
    with FakeForge(token="t", collaborators={"ann": "write"}) as fake, tempfile.TemporaryDirectory() as tmp:
        fake.rate_limit_total = 10**9
        daemon = daemon_on(fake, Path(tmp) / "s")
        for i in range(prs):
            pr = daemon.services.forge.open_or_update(branch=f"b{i}", base="main", title=f"T{i}", body="B")
            fake.add_check(pr.number, "test", "completed", "success")
            fake.review_comment(pr.number, "nit: a name", path="src/a.py", line=3, user="ann")
            daemon.store.transition(f"P{i}", Phase.PR_OPEN, branch=f"b{i}", pr_number=pr.number, pr_url=pr.url)
        handed: list[Any] = []
        daemon.reviews.on_feedback = lambda pid, feedback: handed.append(feedback)
        daemon.reviews.poll(force=True)  # the first look hands each thread to the agent once: not idle yet
        before, before_304, used = len(fake.requests), fake.not_modified, fake.rate_used
        for _ in range(polls):
            daemon.reviews.poll(force=True)
        daemon.services.close()
        return {"requests": len(fake.requests) - before, "not_modified": fake.not_modified - before_304,
                "rate_limit_used": fake.rate_used - used, "handed_while_idle": len(handed) - prs}


def red_to_agent(samples: int) -> list[float]:
    times: list[float] = []
    with FakeForge(token="t") as fake, tempfile.TemporaryDirectory() as tmp:
        daemon = daemon_on(fake, Path(tmp) / "s")
        handed: list[Any] = []
        daemon.reviews.on_feedback = lambda pid, feedback: handed.append(feedback)
        for i in range(samples):
            pr = daemon.services.forge.open_or_update(branch=f"r{i}", base="main", title=f"R{i}", body="B")
            daemon.store.transition(f"R{i}", Phase.PR_OPEN, branch=f"r{i}", pr_number=pr.number, pr_url=pr.url)
            fake.add_check(pr.number, "tests", conclusion="failure", log=LOG)
            daemon.reviews.poll(force=True)  # the one re-run
            started, count = time.perf_counter(), len(handed)
            daemon.reviews.poll(force=True)
            assert len(handed) == count + 1 and handed[-1].kind == "ci"
            times.append(time.perf_counter() - started)
            daemon.store.transition(f"R{i}", Phase.BLOCKED, reason="measured")  # out of the next polls
        daemon.services.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=20)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--interval", type=int, default=60)
    parser.add_argument("--red", type=int, default=30)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    polls = args.minutes * 60 // args.interval
    r = idle(args.prs, polls)
    share = r["not_modified"] / r["requests"] if r["requests"] else 0.0
    print(f"{args.prs} idle PRs followed by the daemon's poller, {polls} polls ({args.minutes} min simulated):")
    print(f"  requests {r['requests']:,}, answered 304 {r['not_modified']:,} ({share:.0%}), counted against the "
          f"rate limit {r['rate_limit_used']:,} of 5,000/h, feedback handed while idle {r['handed_while_idle']}")
    p = percentiles_ms(red_to_agent(args.red))
    print(f"red check → feedback for the agent (daemon overhead, {args.red} samples): "
          f"p50 {p['p50']:.1f} ms, p90 {p['p90']:.1f} ms, p99 {p['p99']:.1f} ms, max {p['max']:.1f} ms")


if __name__ == "__main__":
    main()
