"""The daemon as a process: lock, signals, systemd, roadmap watcher, then the loop.

SIGTERM/SIGINT stop cleanly (the agent's process group is stopped, state is
already checkpointed by every transition); SIGHUP reloads the configuration;
SIGUSR1 wakes an idle loop (`coffee-maker retry`/`skip` changed the state);
under systemd the service reports READY/RELOADING/STOPPING and pings the watchdog.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

import structlog

from coffee_maker.config import LoadedConfig, load_config
from coffee_maker.daemon.lock import DaemonLock
from coffee_maker.daemon.loop import Daemon
from coffee_maker.daemon.reconcile import announce, reconcile
from coffee_maker.daemon.systemd import SystemdNotifier
from coffee_maker.daemon.watcher import RoadmapWatcher
from coffee_maker.errors import CoffeeMakerError, ExitCode

log = structlog.get_logger(__name__)



class DaemonService:
    def __init__(
        self, loaded: LoadedConfig, build: Callable[[LoadedConfig, threading.Event], Daemon], *,
        notifier: SystemdNotifier | None = None, watch: bool = True,
    ) -> None:
        self.loaded = loaded
        self.build = build
        self.systemd = notifier or SystemdNotifier()
        self.watch = watch
        self.daemon: Daemon | None = None
        self._reload = threading.Event()
        self._stopped = threading.Event()
        #: Ctrl-C (SIGINT) ends with 130, like any interrupted command; SIGTERM is a requested, clean stop.
        self._interrupted = False

    def run(self, *, once: bool = False, only: str | None = None) -> int:
        lock = DaemonLock(self.loaded.layout.lock)
        lock.acquire()
        watcher: RoadmapWatcher | None = None
        previous = self._install_signals()
        pinger = threading.Thread(target=self._ping_watchdog, name="systemd-watchdog", daemon=True)
        try:
            wake = threading.Event()
            if self.watch and not once:
                watcher = RoadmapWatcher(self.loaded.roadmap_path,
                                         debounce_s=self.loaded.config.daemon.roadmap_debounce_s)
                watcher.changed = wake  # a roadmap change wakes the idle loop at once
                watcher.start()
            self.daemon = self.build(self.loaded, wake)
            self.systemd.ready("working")
            pinger.start()
            log.info("daemon started", repo=str(self.loaded.repo), roadmap=str(self.loaded.roadmap_path))
            self._reconcile(self.daemon)
            while True:
                code = self.daemon.run(once=once, only=only)
                if self._reload.is_set() and not self._stopped.is_set():
                    self._reload.clear()
                    self._apply_reload(wake)
                    continue
                return ExitCode.INTERRUPTED if self._interrupted and code == ExitCode.OK else code
        finally:
            reason = self._stop_reason()
            self._stopped.set()
            self.systemd.stopping()
            if self.daemon is not None:
                self._close(self.daemon)
            if watcher:
                watcher.stop()
            self._restore_signals(previous)
            lock.release()
            log.info("daemon stopped", reason=reason)

    @staticmethod
    def _reconcile(daemon: Daemon) -> None:
        """Once per start: the state table against git and the forge (see daemon/reconcile.py)."""
        try:
            priorities = daemon.read_roadmap().priorities
        except CoffeeMakerError:
            priorities = ()  # the loop says what is wrong with the roadmap; the state rows are still checked
        services = daemon.services
        announce(reconcile(daemon.store, services.git, services.forge, priorities), services.notifier.inform)

    def _stop_reason(self) -> str:
        daemon = self.daemon
        if self._interrupted:
            return "interrupted (Ctrl-C)"
        if self._stopped.is_set() or (daemon is not None and daemon.stopping.is_set()):
            return "asked to stop"
        if daemon is not None and daemon.exit_code is not None:
            return f"exit code {daemon.exit_code}"
        return "finished"

    # ------------------------------------------------------------------ signals

    def _install_signals(self) -> dict[int, object]:
        previous: dict[int, object] = {}
        if threading.current_thread() is not threading.main_thread():
            return previous
        for sig, handler in ((signal.SIGTERM, self._on_stop), (signal.SIGINT, self._on_stop),
                             (signal.SIGHUP, self._on_reload), (signal.SIGUSR1, self._on_wake)):
            previous[sig] = signal.signal(sig, handler)
        return previous

    def _restore_signals(self, previous: dict[int, object]) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        log.info("stop requested", signal=signal.Signals(signum).name)
        self._interrupted = self._interrupted or signum == signal.SIGINT
        self._stopped.set()
        if self.daemon:
            # Stopping the agent may take a few seconds (SIGTERM, grace, SIGKILL): not in the handler.
            threading.Thread(target=self.daemon.request_stop, name="stop", daemon=True).start()

    def _on_wake(self, signum: int, frame: FrameType | None) -> None:
        """`coffee-maker retry`/`skip` changed the state: an idle daemon plans again now, not at its next poll."""
        if self.daemon:
            self.daemon.wake.set()

    def _on_reload(self, signum: int, frame: FrameType | None) -> None:
        log.info("reload requested (SIGHUP)")
        self._reload.set()
        if self.daemon:
            self.daemon.leave.set()  # leave run() between steps; run() re-enters after the reload
            self.daemon.wake.set()

    def _apply_reload(self, wake: threading.Event) -> None:
        self.systemd.reloading()
        try:
            self.loaded = load_config(self.loaded.repo, roadmap=self.loaded.config.roadmap.path)
            log.info("configuration reloaded")
        except Exception as exc:  # noqa: BLE001 — a bad edit keeps the old config running
            log.error("configuration reload failed; keeping the previous one", error=str(exc))
        if self.daemon is not None:
            self._close(self.daemon)
        self.daemon = self.build(self.loaded, wake)
        self.systemd.ready("reloaded")

    @staticmethod
    def _close(daemon: Daemon) -> None:
        """Slack and desktop connections, the tracer's last flush (bounded), the telemetry store."""
        try:
            daemon.services.close()
        except Exception:  # noqa: BLE001 — shutting down must finish
            log.warning("closing a service failed", exc_info=True)

    def _ping_watchdog(self) -> None:
        interval = self.systemd.watchdog_interval_s
        if interval is None:
            return
        while not self._stopped.wait(interval):
            self.systemd.watchdog()
            time.sleep(0)
