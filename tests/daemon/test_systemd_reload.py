"""The daemon as a systemd `Type=notify` service: READY, RELOADING on SIGHUP (config re-read), STOPPING."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from coffee_maker.testing.config_edit import set_config


def test_notify_reload_and_stop(sandbox: Path, tmp_path: Path) -> None:
    """READY=1 at start, RELOADING=1 then READY=1 on SIGHUP with the new config loaded, STOPPING=1 on SIGTERM."""
    address = str(tmp_path / "notify.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(address)
    server.settimeout(60)
    env = {**os.environ, "NOTIFY_SOCKET": address, "WATCHDOG_USEC": "1000000", "COFFEE_MAKER_NOTIFY__TIMEOUT_S": "1"}
    daemon = subprocess.Popen([sys.executable, "-m", "coffee_maker", "run", "--repo", str(sandbox)], cwd=sandbox, env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        messages: list[str] = []

        def wait_for(prefix: str) -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                message = server.recv(4096).decode()
                messages.append(message)
                if message.startswith(prefix):
                    return
            raise AssertionError(f"no {prefix} in {messages}")

        wait_for("READY=1")
        wait_for("WATCHDOG=1")  # pinged at half of WATCHDOG_USEC
        config = sandbox / "coffee_maker.toml"
        set_config(config, "daemon", poll_interval_s=7)
        daemon.send_signal(signal.SIGHUP)
        wait_for("RELOADING=1")
        wait_for("READY=1")
        daemon.terminate()
        wait_for("STOPPING=1")
        _, err = daemon.communicate(timeout=60)
        assert daemon.returncode == 0, err
        log = (sandbox / ".coffee_maker" / "coffee-maker.log").read_text()
        assert "configuration reloaded" in log
    finally:
        if daemon.poll() is None:
            daemon.kill()
        server.close()
