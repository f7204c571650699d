"""Desktop notifications: Yes/No/Skip buttons through desktop-notifier, plain plyer otherwise.

Why two backends (docs/tech_decisions/desktop-notifications.md): plyer is the
documented dependency but has no buttons and cannot withdraw a notification;
desktop-notifier (the optional ``desktop`` extra) talks D-Bus directly, shows
buttons, reports clicks and can close a notification once another channel
answered. It is async, so it runs on a private event loop in its own thread —
the daemon's API stays synchronous.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import structlog

from coffee_maker.notify.channels import Channel
from coffee_maker.notify.inbox import Inbox, PendingQuestion

log = structlog.get_logger(__name__)
APP_NAME = "coffee-maker"
_CALL_TIMEOUT_S = 10.0


def desktop_session_available() -> bool:
    """Is there a desktop session to notify? (Linux: a session D-Bus; macOS/Windows: assume yes.)"""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DBUS_SESSION_BUS_ADDRESS"))
    return True


class PlyerDesktopChannel(Channel):
    """A desktop notification through plyer: no buttons, so it says how to answer."""

    name = "desktop"

    def __init__(self, app_name: str = APP_NAME) -> None:
        self.app_name = app_name

    def _notify(self, title: str, message: str) -> None:
        if not desktop_session_available():
            raise RuntimeError("no desktop session (DBUS_SESSION_BUS_ADDRESS is not set)")
        from plyer import notification

        notification.notify(title=title, message=message[:250], app_name=self.app_name, timeout=30)

    def ask(self, question: PendingQuestion) -> None:
        self._notify(f"coffee-maker needs you ({question.priority or 'question'})",
                     f"{question.text}\nAnswer: {question.answer_command()}")

    def resolve(self, question: PendingQuestion, answer: str, who: str) -> None:
        return None  # plyer cannot withdraw a notification; the next one says what happened

    def inform(self, message: str, *, kind: str = "info") -> None:
        self._notify("coffee-maker", message)


class ActionableDesktopChannel(Channel):
    """Buttons on the notification; a click answers in the inbox; answered elsewhere → closed."""

    name = "desktop"
    live_prompts = True

    def __init__(self, inbox: Inbox, app_name: str = APP_NAME) -> None:
        from desktop_notifier import DesktopNotifier

        self.inbox = inbox
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="desktop-notifier", daemon=True)
        self._thread.start()
        self._notifier = DesktopNotifier(app_name=app_name)
        self._shown: dict[str, str] = {}  # question id → notification identifier

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(_CALL_TIMEOUT_S)

    def _pressed(self, qid: str, value: str) -> None:
        if not self.inbox.answer(qid, value, who="desktop", channel=self.name):
            log.info("desktop click on a question already settled", id=qid, answer=value)

    def _press_callback(self, qid: str, value: str) -> Callable[[], None]:
        return lambda: self._pressed(qid, value)

    def ask(self, question: PendingQuestion) -> None:
        from desktop_notifier import Button, Urgency

        if not desktop_session_available():
            raise RuntimeError("no desktop session (DBUS_SESSION_BUS_ADDRESS is not set)")
        options = list(question.options) or ["yes", "no"]
        values = options if "skip" in options else [*options, "skip"]
        buttons = [Button(title="Skip" if v == "skip" and v not in options else v, identifier=f"{question.id}:{v}",
                          on_pressed=self._press_callback(question.id, v)) for v in values]
        identifier = self._run(self._notifier.send(
            title=f"coffee-maker needs you ({question.priority or 'question'})",
            message=f"{question.text}\n[{question.id}] or: {question.answer_command()}",
            urgency=Urgency.Critical, buttons=buttons, timeout=-1))
        self._shown[question.id] = str(identifier)

    def resolve(self, question: PendingQuestion, answer: str, who: str) -> None:
        identifier = self._shown.pop(question.id, None)
        if identifier is not None:
            self._run(self._notifier.clear(identifier))

    def withdraw(self, question: PendingQuestion, note: str) -> None:
        """The daemon stops: close the notification, whose buttons would answer nobody."""
        self.resolve(question, "", "stopped")

    def inform(self, message: str, *, kind: str = "info") -> None:
        if not desktop_session_available():
            raise RuntimeError("no desktop session (DBUS_SESSION_BUS_ADDRESS is not set)")
        self._run(self._notifier.send(title="coffee-maker", message=message))

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=2)


def desktop_channel(inbox: Inbox, *, actions: bool = True) -> ActionableDesktopChannel | PlyerDesktopChannel:
    """Buttons when asked for and desktop-notifier is installed; plyer otherwise."""
    if actions:
        try:
            return ActionableDesktopChannel(inbox)
        except ImportError:
            log.info("desktop-notifier is not installed; desktop notifications without buttons (plyer)")
    return PlyerDesktopChannel()
