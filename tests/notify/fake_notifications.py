"""A fake org.freedesktop.Notifications server on a private session D-Bus (no __future__ annotations:
dbus-fast reads the D-Bus signatures from the annotations)."""

import asyncio
import os
import signal
import subprocess
import threading
import time
from typing import Any

from dbus_fast.aio import MessageBus
from dbus_fast.service import ServiceInterface, method
from dbus_fast.service import signal as dbus_signal


class FakeNotifications(ServiceInterface):
    """Records Notify/CloseNotification calls; ``press`` emits ActionInvoked like a click."""

    def __init__(self) -> None:
        super().__init__("org.freedesktop.Notifications")
        self.notified: list[dict[str, Any]] = []
        self.closed: list[int] = []
        self._next = 0

    @method()
    def Notify(self, app_name: "s", replaces_id: "u", app_icon: "s", summary: "s", body: "s",  # noqa: N802, F821
               actions: "as", hints: "a{sv}", expire_timeout: "i") -> "u":  # noqa: F821, F722
        self._next += 1
        self.notified.append({"id": self._next, "app": app_name, "summary": summary, "body": body,
                              "actions": list(actions)})
        return self._next

    @method()
    def CloseNotification(self, id: "u") -> None:  # noqa: N802, A002, F821
        self.closed.append(id)
        self.NotificationClosed(id, 3)

    @method()
    def GetCapabilities(self) -> "as":  # noqa: N802, F722
        return ["actions", "body"]

    @method()
    def GetServerInformation(self) -> "ssss":  # noqa: N802, F821
        return ["fake", "coffee-maker tests", "1.0", "1.2"]

    @dbus_signal()
    def ActionInvoked(self, id: "u", action_key: "s") -> "us":  # noqa: N802, A002, F821
        return [id, action_key]

    @dbus_signal()
    def NotificationClosed(self, id: "u", reason: "u") -> "uu":  # noqa: N802, A002, F821
        return [id, reason]


class SessionBus:
    """dbus-daemon --session on a private address, plus the fake server on its own loop thread."""

    def __init__(self) -> None:
        out = subprocess.run(["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
                             capture_output=True, text=True, check=True, timeout=30).stdout.split("\n")
        self.address, self.pid = out[0].strip(), int(out[1])
        self.server = FakeNotifications()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self.loop).result(30)

    async def _serve(self) -> None:
        self.bus = await MessageBus(bus_address=self.address).connect()
        self.bus.export("/org/freedesktop/Notifications", self.server)
        await self.bus.request_name("org.freedesktop.Notifications")

    def press(self, nid: int, action_key: str) -> None:
        self.loop.call_soon_threadsafe(self.server.ActionInvoked, nid, action_key)

    def wait_for(self, predicate: Any, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, "the fake notification server saw nothing"
            time.sleep(0.01)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        os.kill(self.pid, signal.SIGTERM)
