"""`coffee-maker answer` and `pending` from a second process while the handler waits."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from coffee_maker.config import load_config
from coffee_maker.interaction.handler import build_message_handler
from coffee_maker.notify.escalator import Escalator
from coffee_maker.notify.inbox import Inbox
from coffee_maker.testing.channels import RecordingChannel
from coffee_maker.types import Decision, DecisionKind, PermissionRequest


def _cli(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "coffee_maker", *args, "--repo", str(repo)],
                          capture_output=True, text=True, timeout=60)


class TestAnswerFromAnotherShell:
    def test_answer_reaches_the_waiting_handler(self, tmp_path: Path) -> None:
        """The handler blocks on a risky request; `pending` lists it and `answer ID yes` allows it."""
        loaded = load_config(tmp_path)
        inbox = Inbox(loaded.state_dir / "inbox.db")
        channel = RecordingChannel()
        handler = build_message_handler(loaded, escalator=Escalator(inbox, [channel], timeout_s=120),
                                        priority="PRIORITY 3")
        out: list[Decision] = []
        waiter = threading.Thread(target=lambda: out.append(
            handler.decide(PermissionRequest("WebFetch", {"url": "https://docs.example.com"}))))
        waiter.start()
        assert channel.asked_event.wait(30)
        pending = json.loads(_cli(tmp_path, "pending", "--json").stdout)
        assert [p["id"] for p in pending] == [channel.asked[0].id]
        assert "coffee-maker answer" in channel.asked[0].answer_command()
        bad = _cli(tmp_path, "answer", pending[0]["id"], "perhaps")
        assert bad.returncode == 2 and "choose one of" in bad.stderr
        done = _cli(tmp_path, "answer", pending[0]["id"], "yes", "--as", "sam")
        assert done.returncode == 0, done.stderr
        waiter.join(timeout=30)
        assert out and out[0].kind is DecisionKind.ALLOW and out[0].source.label() == "person:cli:sam"
        again = _cli(tmp_path, "answer", pending[0]["id"], "no")
        assert again.returncode == 2 and "already" in again.stderr

    def test_unknown_id(self, tmp_path: Path) -> None:
        """A mistyped id says how to list the real ones."""
        Inbox(load_config(tmp_path).state_dir / "inbox.db")
        result = _cli(tmp_path, "answer", "zzzz", "yes")
        assert result.returncode == 2 and "coffee-maker pending" in result.stderr
