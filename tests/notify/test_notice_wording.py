"""Notices a person reads: a wait under a minute is said in seconds, through the real `coffee-maker run`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from coffee_maker.demo import build_sandbox
from coffee_maker.notify.channels import in_words
from coffee_maker.testing.config_edit import set_config
from tests.daemon.conftest import set_script

FAKE_CLIS = Path(__file__).resolve().parents[1] / "agent" / "fake_clis"


class TestInWords:
    def test_waits_read_as_a_person_would_say_them(self) -> None:
        """Seconds under a minute, minutes under an hour, then hours and minutes; never 0."""
        assert [in_words(s) for s in (0.2, 20, 59.4, 60, 89, 3599, 3600, 7500)] == [
            "1 s", "20 s", "59 s", "1 min", "1 min", "1 h", "1 h", "2 h 5 min"]


class TestFallbackNotice:
    def test_a_reset_under_a_minute_is_not_zero_minutes(self, tmp_path: Path) -> None:
        """The main agent is limited for ~20 s: the notice says "for 20 s" (or 19), not "for 0 min"."""
        project = build_sandbox(tmp_path / "sandbox")
        set_script(project, "priority-1.json", {"steps": [
            {"usage_limit": "5-hour limit reached", "reset_at": "+20"}]})
        config = project / "coffee_maker.toml"
        set_config(config, "daemon", fallback_backend="codex")
        env = {**os.environ, "PATH": f"{FAKE_CLIS}:{os.environ['PATH']}", "FAKE_CLI_LOG": str(tmp_path / "calls")}
        result = subprocess.run([sys.executable, "-m", "coffee_maker", "run", "--once", "--repo", str(project)],
                                env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        out = result.stdout + result.stderr
        assert "continuing with the codex agent for" in out, out
        assert "0 min" not in out and ("for 20 s" in out or "for 19 s" in out), out
