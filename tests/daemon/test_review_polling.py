"""Following pull requests through a real GitHub client and the shipped fake forge: its errors never stop the daemon."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from coffee_maker.config import load_config
from coffee_maker.daemon import wiring
from coffee_maker.daemon.state import Phase
from coffee_maker.testing.fake_forge import FakeForge
from coffee_maker.vcs.forge.github import GitHubForge

BRANCH = "coffee-maker/priority-1-temperature-conversion-helpers"


@pytest.mark.skipif(not hasattr(FakeForge, "rate_limit"),
                    reason="needs FakeForge.rate_limit and ForgeRateLimited from the forge branch (issue 15 item 23)")
def test_rate_limit_while_following_prs_is_waited_out(sandbox: Path) -> None:
    """A 403 with `x-ratelimit-remaining: 0` while reading a PR is logged, no forge call is made before
    `x-ratelimit-reset`, the loop keeps running, and after the reset the PR is followed again."""
    with FakeForge(token="t0k") as fake:
        loaded = load_config(sandbox)
        daemon = wiring.build_daemon(loaded, threading.Event())
        forge = GitHubForge(fake.url, "o", "r", "t0k", loaded.config.forge)
        daemon.services.forge = forge
        pr = forge.open_or_update(branch=BRANCH, base="main", title="PRIORITY 1", body="B")
        daemon.store.transition("PRIORITY 1", Phase.PR_OPEN, branch=BRANCH, pr_number=pr.number, pr_url=pr.url)
        daemon.store.transition("PRIORITY 2", Phase.BLOCKED, reason="not part of this test")
        fake.rate_limit(calls=100, reset_in_s=120)

        result: list[int] = []
        runner = threading.Thread(target=lambda: result.append(daemon.run()), daemon=True)
        runner.start()
        deadline = time.monotonic() + 30
        while not daemon.store.info().get("forge_problem") and time.monotonic() < deadline:
            time.sleep(0.05)
        problem = str(daemon.store.info().get("forge_problem"))
        assert "rate limit" in problem
        assert runner.is_alive()  # the daemon carries on
        assert daemon.reviews.not_before == pytest.approx(fake.rate_limit_reset, abs=1.5)
        calls = len(fake.requests)
        daemon.reviews.poll(force=True)  # a forced poll still fetches git, but asks the forge nothing yet
        assert len(fake.requests) == calls
        daemon.request_stop()
        runner.join(30)
        assert result == [0]

        fake.rate_limited_calls = 0  # the reset has passed
        fake.set_merged(pr.number)
        daemon.reviews.not_before = time.time() - 1
        daemon.reviews.poll(force=True)
        state = daemon.store.get("PRIORITY 1")
        assert state is not None and state.phase is Phase.DONE
        assert daemon.store.info().get("forge_problem") is None


def test_other_forge_errors_back_off_and_double(sandbox: Path) -> None:
    """A forge that refuses the token (401) is logged and polled again after poll_interval_s, then twice that."""
    with FakeForge(token="right") as fake:
        loaded = load_config(sandbox)
        daemon = wiring.build_daemon(loaded, threading.Event())
        daemon.services.forge = GitHubForge(fake.url, "o", "r", "wrong", loaded.config.forge)
        daemon.store.transition("PRIORITY 1", Phase.PR_OPEN, branch=BRANCH, pr_number=1, pr_url="u")
        interval = loaded.config.daemon.poll_interval_s
        before = time.time()
        daemon.reviews.poll(force=True)
        first = daemon.reviews.not_before - before
        daemon.reviews.not_before = 0.0
        before = time.time()
        daemon.reviews.poll(force=True)
        second = daemon.reviews.not_before - before
        assert interval - 1 <= first <= interval + 1 and 2 * interval - 1 <= second <= 2 * interval + 1
        assert "401" in str(daemon.store.info().get("forge_problem"))
