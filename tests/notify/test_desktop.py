"""Desktop notifications against a session D-Bus with a fake notification server."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from coffee_maker.notify.desktop import (
    ActionableDesktopChannel,
    PlyerDesktopChannel,
    desktop_channel,
)
from coffee_maker.notify.escalator import Escalation, Escalator
from coffee_maker.notify.inbox import Inbox

pytestmark = pytest.mark.skipif(shutil.which("dbus-daemon") is None, reason="dbus-daemon missing (make test installs it)")


@pytest.fixture
def session_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    from tests.notify.fake_notifications import SessionBus

    bus = SessionBus()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
    yield bus
    bus.stop()


class TestActionableDesktop:
    def test_button_click_answers(self, tmp_path: Path, session_bus: object) -> None:
        """yes/no buttons (as given) and Skip reach the server; a click on 'no' answers; the notification closes."""
        bus = session_bus
        inbox = Inbox(tmp_path / "inbox.db")
        channel = desktop_channel(inbox)
        assert isinstance(channel, ActionableDesktopChannel)
        out: list[Escalation] = []
        thread = threading.Thread(target=lambda: out.append(Escalator(inbox, [channel], timeout_s=60).ask(
            "Allow Bash: git push?", kind="permission", options=("yes", "no"), safe_default="no")))
        thread.start()
        bus.wait_for(lambda: bus.server.notified)  # type: ignore[attr-defined]
        note = bus.server.notified[0]  # type: ignore[attr-defined]
        assert "git push" in note["body"] and note["app"] == "coffee-maker"
        buttons = dict(zip(note["actions"][1::2], note["actions"][::2], strict=True))  # title → action key
        assert {"yes", "no", "Skip"} <= set(buttons)
        # The server records the notification as Notify arrives; the channel listens for clicks once Notify has
        # returned. A person clicks later than that; a test pressing at once may press first — so press again.
        deadline = time.monotonic() + 30
        while thread.is_alive() and time.monotonic() < deadline:
            bus.press(note["id"], buttons["no"])  # type: ignore[attr-defined]
            thread.join(timeout=0.5)
        assert out[0].answer == "no" and out[0].channel == "desktop"
        channel.close()

    def test_answered_elsewhere_withdraws_the_notification(self, tmp_path: Path, session_bus: object) -> None:
        """An answer from another channel closes the desktop notification."""
        bus = session_bus
        inbox = Inbox(tmp_path / "inbox.db")
        channel = ActionableDesktopChannel(inbox)
        question = inbox.add("continue?", kind="question", options=("yes", "no"), safe_default="no", timeout_s=60)
        channel.ask(question)
        bus.wait_for(lambda: bus.server.notified)  # type: ignore[attr-defined]
        channel.resolve(question, "yes", "cli:sam")
        bus.wait_for(lambda: bus.server.closed)  # type: ignore[attr-defined]
        assert bus.server.closed == [bus.server.notified[0]["id"]]  # type: ignore[attr-defined]
        channel.close()


class TestNoDesktopSession:
    def test_channel_fails_and_is_skipped(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without a session bus both backends raise; the escalator skips them and falls to the safe default."""
        monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
        inbox = Inbox(tmp_path / "inbox.db")
        result = Escalator(inbox, [PlyerDesktopChannel(), desktop_channel(inbox)], timeout_s=0.2).ask(
            "continue?", kind="question", options=("yes", "no"), safe_default="no")
        assert result.timed_out and result.channels == ()

    def test_a_headless_machine_is_warned_about_once(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Three questions and two notices with no desktop session: one warning, the rest at debug level."""
        from structlog.testing import capture_logs

        monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
        inbox = Inbox(tmp_path / "inbox.db")
        escalator = Escalator(inbox, [PlyerDesktopChannel()], timeout_s=0.05)
        with capture_logs() as logs:
            for n in range(3):
                escalator.ask(f"continue {n}?", kind="question", options=("yes", "no"), safe_default="no")
            escalator.inform("PRIORITY 1 done")
            escalator.inform("PRIORITY 2 done")
        failures = [e for e in logs if e["event"].startswith("notification channel failed")]
        assert len(failures) > 5 and [e["log_level"] for e in failures].count("warning") == 1
        assert "no desktop session" in failures[0]["error"]
        escalator.close()


class TestRedactedOnTheDesktop:
    def test_the_notification_body_carries_no_token(self, tmp_path: Path, session_bus: object) -> None:
        """A token in the question shows as [REDACTED] in the desktop notification, as in the interaction log."""
        bus = session_bus
        token = "sk-ant-" + "api03-" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe"
        inbox = Inbox(tmp_path / "inbox.db")
        channel = desktop_channel(inbox)
        escalator = Escalator(inbox, [channel], timeout_s=60)
        out: list[Escalation] = []
        thread = threading.Thread(target=lambda: out.append(escalator.ask(
            f"Allow Bash: ANTHROPIC_API_KEY={token} pytest", kind="permission", options=("yes", "no"),
            safe_default="no")))
        thread.start()
        bus.wait_for(lambda: bus.server.notified)  # type: ignore[attr-defined]
        body = bus.server.notified[0]["body"]  # type: ignore[attr-defined]
        assert token not in body and "[REDACTED]" in body
        [question] = inbox.waiting()
        inbox.answer(question.id, "no", who="cli:sam", channel="cli")
        thread.join(timeout=30)
        escalator.close()
