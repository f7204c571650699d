"""Escalation latency: an answer given by a person → the waiting MessageHandler returns.

    .venv/bin/python bench/bench_escalation.py [--slack 200] [--cli 40]

Slack: a button click pushed by the shipped fake Slack over Socket Mode (loopback)
until ``handler.decide`` returns. CLI: a real `python -m coffee_maker answer ID yes`
subprocess started until ``handler.decide`` returns (process start-up included).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _percentiles import describe_ms  # noqa: E402 — a sibling module of these scripts

from coffee_maker.config import load_config
from coffee_maker.config.notify import SlackSettings
from coffee_maker.interaction.handler import build_message_handler
from coffee_maker.notify.escalator import Escalator
from coffee_maker.notify.inbox import Inbox, PendingQuestion
from coffee_maker.notify.slack import SlackChannel
from coffee_maker.testing.fake_slack import FakeSlack
from coffee_maker.types import PermissionRequest


class Waiter:
    """Runs handler.decide in a thread; records when it returned."""

    def __init__(self, handler: object, n: int) -> None:
        self.handler, self.done_at = handler, 0.0
        self.thread = threading.Thread(target=self._run, args=(n,))
        self.thread.start()

    def _run(self, n: int) -> None:
        self.handler.decide(PermissionRequest("WebFetch", {"url": f"https://example.com/{n}"}))  # type: ignore[attr-defined]
        self.done_at = time.perf_counter()
        self.done_wall = time.time()


class Asked:
    name = "probe"

    def __init__(self) -> None:
        self.event, self.question = threading.Event(), None

    def ask(self, question: PendingQuestion) -> None:
        self.question = question
        self.event.set()

    def resolve(self, question: PendingQuestion, answer: str, who: str) -> None:
        return None

    def inform(self, message: str, *, kind: str = "info") -> None:
        return None


def bench_slack(repo: Path, runs: int) -> list[float]:
    loaded = load_config(repo)
    inbox = Inbox(repo / "slack-inbox.db")
    samples = []
    with FakeSlack() as slack:
        settings = SlackSettings(channel="C1", base_url=slack.base_url, poll_replies_s=0, allowed_users=["U1"])
        channel = SlackChannel(inbox, settings, bot_token="xoxb-b", app_token="xapp-b")
        probe = Asked()
        handler = build_message_handler(loaded, escalator=Escalator(inbox, [channel, probe], timeout_s=60))
        for n in range(runs):
            probe.event.clear()
            waiter = Waiter(handler, n)
            probe.event.wait(30)
            assert probe.question is not None
            start = time.perf_counter()
            slack.click(user="U1", value=f"{probe.question.id}|yes")
            waiter.thread.join()
            samples.append(waiter.done_at - start)
        channel.close()
    return samples


def bench_cli(repo: Path, runs: int) -> tuple[list[float], list[float], list[float]]:
    """(process start → handler returns, answer committed → handler returns, `coffee-maker --version`)."""
    loaded = load_config(repo)
    inbox = Inbox(loaded.state_dir / "inbox.db")
    probe = Asked()
    handler = build_message_handler(loaded, escalator=Escalator(inbox, [probe], timeout_s=60))
    samples, after_commit, floor = [], [], []
    for n in range(runs):
        probe.event.clear()
        waiter = Waiter(handler, n)
        probe.event.wait(30)
        assert probe.question is not None
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "coffee_maker", "answer", probe.question.id, "yes", "--repo", str(repo)],
                       check=True, capture_output=True)
        waiter.thread.join()
        samples.append(waiter.done_at - start)
        version_start = time.perf_counter()  # the CLI's own floor, same conditions: start-up + parser, no work
        subprocess.run([sys.executable, "-m", "coffee_maker", "--version"], check=True, capture_output=True)
        floor.append(time.perf_counter() - version_start)
        answered = inbox.get(probe.question.id)
        assert answered is not None and answered.answered_at is not None
        after_commit.append(waiter.done_wall - answered.answered_at)
    return samples, after_commit, floor


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slack", type=int, default=200)
    parser.add_argument("--cli", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        print(f"Slack click → handler returns:            {describe_ms(bench_slack(repo, args.slack))} (target p99 ≤ 200 ms)")
        total, after_commit, floor = bench_cli(repo, args.cli)
        print(f"`coffee-maker answer` process → returns:  {describe_ms(total)} (target p99 ≤ 500 ms)")
        print(f"   of which answer committed → returns:  {describe_ms(after_commit)}")
        print(f"   `coffee-maker --version` (CLI floor):  {describe_ms(floor)}")


if __name__ == "__main__":
    main()
