"""apprise webhooks carry the question and the exact `coffee-maker answer` command (a local JSON endpoint)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from coffee_maker.notify.escalator import Escalation, Escalator
from coffee_maker.notify.inbox import Inbox
from coffee_maker.notify.webhooks import AppriseChannel


class Hook:
    """A local JSON webhook that answers 500 to its first ``failures`` posts, then records and accepts."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received: list[dict[str, Any]] = []
        self.refused = 0
        self.cond = threading.Condition()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return None

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with hook.cond:
                    failing = hook.refused < hook.failures
                    if failing:
                        hook.refused += 1
                    else:
                        hook.received.append(body)
                    hook.cond.notify_all()
                self.send_response(500 if failing else 200)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.received)} of {count} posts arrived")
                self.cond.wait(left)
            return list(self.received)


@pytest.fixture
def endpoint() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    hook = Hook()
    yield hook.url, hook.received
    hook.server.shutdown()


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


class TestResendAndRedaction:
    def test_a_failed_webhook_is_sent_the_question_again(self, tmp_path: Path) -> None:
        """The hook answers 500 twice: the question is re-sent with back-off and arrives before the answer."""
        hook = Hook(failures=2)
        inbox = Inbox(tmp_path / "inbox.db")
        escalator = Escalator(inbox, [AppriseChannel([hook.url])], timeout_s=60, resend_after_s=(0.05, 0.2))
        out: list[Escalation] = []
        thread = threading.Thread(target=lambda: out.append(escalator.ask(
            "Allow Bash: npm publish?", kind="permission", options=("yes", "no"), safe_default="no")))
        thread.start()
        [post] = hook.wait_for(1)
        assert hook.refused == 2 and "Allow Bash: npm publish?" in post["message"]
        [question] = inbox.waiting()
        assert inbox.answer(question.id, "yes", who="cli:sam", channel="cli")
        thread.join(timeout=30)
        assert out[0].answer == "yes" and out[0].channels == ("apprise",)
        escalator.close()
        hook.server.shutdown()

    def test_every_webhook_payload_is_redacted(self, tmp_path: Path) -> None:
        """A token in the question, the answered notice and a blocked notice never reaches the webhook."""
        hook = Hook()
        token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
        inbox = Inbox(tmp_path / "inbox.db")
        escalator = Escalator(inbox, [AppriseChannel([hook.url])], timeout_s=60)
        out: list[Escalation] = []
        thread = threading.Thread(target=lambda: out.append(escalator.ask(
            f"Allow Bash: curl -H 'Authorization: token {token}' https://api.github.com", kind="permission",
            options=("yes", "no"), safe_default="no")))
        thread.start()
        hook.wait_for(1)
        [question] = inbox.waiting()
        inbox.answer(question.id, "no", who="cli:sam", channel="cli")
        thread.join(timeout=30)
        escalator.inform(f"PRIORITY 3 blocked: push refused for GITHUB_TOKEN={token}", kind="blocked")
        posts = hook.wait_for(3)
        assert all(token not in json.dumps(p) for p in posts)
        assert all("[REDACTED]" in p["message"] for p in posts)
        assert token not in question.text and "[REDACTED]" in question.text  # the inbox (and `pending`) too
        escalator.close()
        hook.server.shutdown()
