"""Daemon operations: the single-instance lock, systemd notify, roadmap watcher, budgets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from coffee_maker.daemon.budget import BudgetVerdict, check_budget
from coffee_maker.daemon.lock import DaemonLock, lock_holder
from coffee_maker.daemon.systemd import SystemdNotifier
from coffee_maker.daemon.watcher import RoadmapWatcher
from coffee_maker.errors import LockHeldError


class TestDaemonLock:
    def test_second_holder_is_told_who_holds_it(self, tmp_path: Path) -> None:
        """A second lock in another process fails with the first one's pid."""
        path = tmp_path / "daemon.lock"
        with DaemonLock(path):
            assert lock_holder(path) == os.getpid()
            code = (
                "import sys; from pathlib import Path; from coffee_maker.daemon.lock import DaemonLock\n"
                f"try:\n DaemonLock(Path({str(path)!r})).acquire()\nexcept Exception as e:\n print(e); sys.exit(3)\n"
            )
            result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
            assert result.returncode == 3
            assert f"pid {os.getpid()}" in result.stdout
        assert lock_holder(path) is None

    def test_lock_released_when_holder_is_killed(self, tmp_path: Path) -> None:
        """SIGKILL of the holder frees the lock (the kernel drops the flock)."""
        path = tmp_path / "daemon.lock"
        code = f"from pathlib import Path; from coffee_maker.daemon.lock import DaemonLock; import time\nDaemonLock(Path({str(path)!r})).acquire(); print('ok', flush=True); time.sleep(60)"
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ok"
        with pytest.raises(LockHeldError):
            DaemonLock(path).acquire()
        proc.kill()
        proc.wait()
        lock = DaemonLock(path)
        lock.acquire()
        lock.release()


class TestSystemdNotifier:
    def test_sends_ready_and_watchdog(self, tmp_path: Path) -> None:
        """READY=1 and WATCHDOG=1 arrive on $NOTIFY_SOCKET as datagrams."""
        address = str(tmp_path / "notify.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        server.bind(address)
        server.settimeout(5)
        notifier = SystemdNotifier({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "2000000"})
        assert notifier.watchdog_interval_s == 1.0
        notifier.ready("idle")
        notifier.watchdog()
        notifier.stopping()
        messages = [server.recv(1024).decode() for _ in range(3)]
        assert messages == ["READY=1\nSTATUS=idle", "WATCHDOG=1", "STOPPING=1"]
        server.close()

    def test_without_systemd_is_silent(self) -> None:
        """No NOTIFY_SOCKET: every call is a no-op."""
        notifier = SystemdNotifier({})
        assert not notifier.enabled
        notifier.ready()
        notifier.watchdog()


class TestRoadmapWatcher:
    def _wait(self, event: threading.Event, seconds: float = 10.0) -> bool:
        return event.wait(seconds)

    def test_in_place_write_is_seen(self, tmp_path: Path) -> None:
        """Writing new content wakes the watcher."""
        roadmap = tmp_path / "ROADMAP.md"
        roadmap.write_text("one\n")
        watcher = RoadmapWatcher(roadmap, debounce_s=0.05)
        watcher.start()
        try:
            roadmap.write_text("two\n")
            assert self._wait(watcher.changed)
        finally:
            watcher.stop()

    def test_atomic_rename_save_is_seen(self, tmp_path: Path) -> None:
        """An editor's save by rename (temp file moved onto the roadmap) wakes the watcher."""
        roadmap = tmp_path / "ROADMAP.md"
        roadmap.write_text("one\n")
        watcher = RoadmapWatcher(roadmap, debounce_s=0.05)
        watcher.start()
        try:
            tmp = tmp_path / ".ROADMAP.md.swp"
            tmp.write_text("two\n")
            os.replace(tmp, roadmap)
            assert self._wait(watcher.changed)
        finally:
            watcher.stop()

    def test_same_content_does_not_wake(self, tmp_path: Path) -> None:
        """Touching the file without changing it is not a change."""
        roadmap = tmp_path / "ROADMAP.md"
        roadmap.write_text("same\n")
        watcher = RoadmapWatcher(roadmap, debounce_s=0.05)
        watcher.start()
        try:
            roadmap.write_text("same\n")
            time.sleep(0.5)
            assert not watcher.changed.is_set()
        finally:
            watcher.stop()

    def test_symlinked_roadmap_target_edit_is_seen(self, tmp_path: Path) -> None:
        """Editing the target of a symlinked roadmap wakes the watcher."""
        (tmp_path / "roadmap").mkdir()
        target = tmp_path / "roadmap" / "ROADMAP.md"
        target.write_text("one\n")
        link = tmp_path / "ROADMAP.md"
        link.symlink_to(target)
        watcher = RoadmapWatcher(link, debounce_s=0.05)
        watcher.start()
        try:
            target.write_text("two\n")
            assert self._wait(watcher.changed)
        finally:
            watcher.stop()


class TestBudget:
    def test_hard_beats_soft(self) -> None:
        """The strictest cap decides."""
        check = check_budget(priority_id="P", priority_cost=5, day_cost=50, priority_soft=1,
                             priority_hard=None, day_soft=None, day_hard=40)
        assert check.verdict is BudgetVerdict.HARD and "daily hard cap" in check.message

    def test_no_caps_is_ok(self) -> None:
        """Without caps nothing is over."""
        check = check_budget(priority_id="P", priority_cost=5, day_cost=50, priority_soft=None,
                             priority_hard=None, day_soft=None, day_hard=None)
        assert check.verdict is BudgetVerdict.OK
