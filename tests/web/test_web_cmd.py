"""`coffee-maker web` and the daemon side of the page: the URL, the hook in `run`, pause honoured by the loop."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from coffee_maker.cli import main
from coffee_maker.daemon.state import StateStore
from coffee_maker.demo import build_sandbox
from coffee_maker.testing.config_edit import set_config
from tests.web.conftest import Client, start_daemon

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    return build_sandbox(tmp_path / "sandbox")


class TestWebCommand:
    def test_no_daemon_is_a_sentence(self, sandbox: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Without a running daemon, `coffee-maker web` says how to start one (no traceback)."""
        assert main(["web", "--print", "--repo", str(sandbox)]) == 2
        err = capsys.readouterr().err
        assert "No daemon is serving the page" in err and "coffee-maker run" in err and "Traceback" not in err

    def test_disabled_page_says_how_to_enable_it(self, sandbox: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """With `[web] enabled = false` the command names the setting."""
        (sandbox / "coffee_maker.toml").write_text((sandbox / "coffee_maker.toml").read_text()
                                                   + "\n[web]\nenabled = false\n")
        assert main(["web", "--repo", str(sandbox)]) == 2
        assert "[web] enabled = true" in capsys.readouterr().err

    def test_prints_the_running_daemons_url_with_its_token(self, sandbox: Path) -> None:
        """For a running daemon it prints the URL `run` printed; that URL logs a browser in."""
        set_config(sandbox / "coffee_maker.toml", "notify", timeout_s=600)
        daemon = start_daemon(sandbox)
        try:
            printed = subprocess.run([sys.executable, "-m", "coffee_maker", "web", "--print", "--repo", str(sandbox)],
                                     capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin",
                                                                                     "HOME": str(sandbox)})
            assert printed.returncode == 0, printed.stderr
            url = printed.stdout.strip()
            assert url == daemon.url
            base, query = url.split("?")
            assert Client(base).get("/?" + query).status == 303
        finally:
            assert daemon.stop() == 0

    def test_run_off_a_terminal_prints_the_url_without_the_token(self, sandbox: Path) -> None:
        """Off a terminal (systemd, CI) `run` prints the URL once without the token; the log never holds it."""
        result = subprocess.run([sys.executable, "-m", "coffee_maker", "run", "--once", "--repo", str(sandbox)],
                                capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert result.returncode == 0, result.stderr[-2000:]
        token = (sandbox / ".coffee_maker" / "web.token").read_text().strip()
        assert token not in result.stderr
        assert result.stderr.count("dashboard and inbox: http://127.0.0.1:") == 1
        assert "`coffee-maker web` for the token" in result.stderr
        log = (sandbox / ".coffee_maker" / "coffee-maker.log").read_text()
        assert "web dashboard listening" in log and token not in log
        assert not (sandbox / ".coffee_maker" / "web.json").exists()  # forgotten when the daemon exits


class TestShutdown:
    def test_sigterm_with_a_live_update_stream_open(self, sandbox: Path) -> None:
        """A browser holding the event stream open never keeps the daemon from exiting on SIGTERM."""
        import http.client
        from urllib.parse import urlsplit

        daemon = start_daemon(sandbox)
        try:
            parts = urlsplit(daemon.url)
            conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
            conn.request("GET", "/events", headers={"Authorization": f"Bearer {parts.query.split('=', 1)[1]}"})
            assert conn.getresponse().status == 200
        finally:
            assert daemon.stop() == 0
        conn.close()


class TestPause:
    def test_a_paused_daemon_starts_nothing(self, sandbox: Path) -> None:
        """Paused from the page, `run --once` finds nothing to do and priority 1 is not started; resumed, it is."""
        store = StateStore(sandbox / ".coffee_maker" / "state.db")
        store.set_info(paused_by="Ada")
        assert main(["run", "--once", "--repo", str(sandbox)]) == 0
        assert store.get("PRIORITY 1") is None
        store.set_info(paused_by=None)
        assert main(["run", "--once", "--repo", str(sandbox)]) == 0
        assert store.get("PRIORITY 1") is not None
