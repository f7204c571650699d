"""What polling costs: 20 open PRs, idle (no push, no review, CI finished), for an hour of simulated time.

Every poll interval (60 s, the daemon's default) each PR is read as the pull-request loop
reads it: the PR (with its reviews and checks), its CI report (check runs + commit statuses),
and its review threads. Time is simulated (no sleeping): the numbers are request counts.
Run with and without conditional requests, through the real GitHub provider against the
fake forge over loopback::

    .venv/bin/python bench/bench_forge_polling.py [--prs 20] [--minutes 60] [--interval 60]
"""

from __future__ import annotations

import argparse
import logging

import structlog

from coffee_maker.config.git import ForgeSettings
from coffee_maker.testing.fake_forge import FakeForge
from coffee_maker.vcs.forge._polling import ETagCache
from coffee_maker.vcs.forge.github import GitHubForge


def run(prs: int, polls: int, *, conditional: bool) -> dict[str, int]:
    with FakeForge(token="t", collaborators={"ann": "write"}) as fake:
        fake.rate_limit_total = 10**9  # count, do not refuse: the table compares against GitHub's 5,000/h
        forge = GitHubForge(fake.url, "o", "r", "t", ForgeSettings(labels=[]))
        if not conditional:
            forge.poller.cache = ETagCache(size=0)  # remembers nothing: every GET is a full answer
        opened = [forge.open_or_update(branch=f"b{i}", base="main", title=f"T{i}", body="B") for i in range(prs)]
        for pr in opened:
            fake.add_check(pr.number, "test", "completed", "success")
            fake.review_comment(pr.number, "nit: a name", path="src/a.py", line=3, user="ann")
        forge.review_threads(opened[0])  # permissions and /user asked once, outside the measured hour
        before_requests, before_used, before_304 = len(fake.requests), fake.rate_used, fake.not_modified
        for _ in range(polls):
            for pr in opened:
                current = forge.get(pr.number)
                forge.checks(current)
                forge.review_threads(current)
        return {"requests": len(fake.requests) - before_requests, "not_modified": fake.not_modified - before_304,
                "rate_limit_used": fake.rate_used - before_used}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=20)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--interval", type=int, default=60, help="poll interval in seconds (simulated)")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    polls = args.minutes * 60 // args.interval
    print(f"{args.prs} idle PRs, {polls} polls ({args.minutes} min simulated, every {args.interval} s), GitHub REST:")
    print("| polling | requests | answered 304 | counted against the rate limit (of 5,000/h) |")
    print("| --- | --- | --- | --- |")
    for conditional in (False, True):
        r = run(args.prs, polls, conditional=conditional)
        share = r["not_modified"] / r["requests"] if r["requests"] else 0.0
        print(f"| {'ETag / If-None-Match' if conditional else 'plain GET'} | {r['requests']:,} | "
              f"{r['not_modified']:,} ({share:.0%}) | {r['rate_limit_used']:,}{' (over the budget)' if r['rate_limit_used'] > 5000 else ''} |")


if __name__ == "__main__":
    main()
