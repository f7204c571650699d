"""apprise webhooks carry the question and the exact `coffee-maker answer` command (a local JSON endpoint)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from coffee_maker.notify.escalator import Escalator
from coffee_maker.notify.inbox import Inbox
from coffee_maker.notify.webhooks import AppriseChannel


@pytest.fixture
def endpoint() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return None

        def do_POST(self) -> None:  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"json://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()


class TestAppriseChannel:
    def test_question_and_answer_command(self, tmp_path: Path, endpoint: tuple[str, list[dict[str, Any]]]) -> None:
        """The webhook body names the question and `coffee-maker answer <id> <value>`; the answer is announced."""
        url, received = endpoint
        inbox = Inbox(tmp_path / "inbox.db")
        channel = AppriseChannel([url])
        question = inbox.add("Allow Bash: npm install?", kind="permission", options=("yes", "no"),
                             safe_default="no", timeout_s=60, priority="PRIORITY 3")
        channel.ask(question)
        assert "Allow Bash: npm install?" in received[0]["message"]
        assert f"coffee-maker answer {question.id} yes" in received[0]["message"]
        channel.resolve(question, "no", "cli:sam")
        assert "no (by cli:sam)" in received[1]["message"]

    def test_unreachable_webhook_is_skipped(self, tmp_path: Path) -> None:
        """A webhook that refuses the connection fails the channel, never the escalation."""
        inbox = Inbox(tmp_path / "inbox.db")
        result = Escalator(inbox, [AppriseChannel(["json://127.0.0.1:9/hook"])], timeout_s=0.2).ask(
            "continue?", kind="question", options=("yes", "no"), safe_default="no")
        assert result.timed_out and result.channels == ()
