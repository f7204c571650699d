"""Channels built from [notify]: what cannot work here is skipped with a log line, never an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from coffee_maker.config import load_config
from coffee_maker.notify import build_escalator


class TestBuildEscalator:
    def test_unusable_channels_are_skipped(self, tmp_path: Path) -> None:
        """No TTY, no Slack tokens, no apprise URLs, an unknown name: only the CLI channel remains."""
        (tmp_path / "coffee_maker.toml").write_text(
            '[notify]\nchannels = ["terminal", "cli", "slack", "apprise", "pager"]\ntimeout_s = 5\n'
            '[notify.slack]\nchannel = "C1"\n')
        escalator = build_escalator(load_config(tmp_path))
        assert escalator.channel_names == ("cli",) and escalator.timeout_s == 5
        assert (tmp_path / ".coffee_maker" / "inbox.db").exists() or escalator.inbox.path.exists()

    def test_slack_with_tokens(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """With the channel and both token variables set, the Slack channel is built (connects lazily)."""
        (tmp_path / "coffee_maker.toml").write_text('[notify]\nchannels = ["slack"]\n[notify.slack]\nchannel = "C1"\n')
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-x")
        monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-x")
        assert build_escalator(load_config(tmp_path)).channel_names == ("slack",)
