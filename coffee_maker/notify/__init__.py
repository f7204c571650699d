"""Reaching a person: the pending-question inbox, channels, and the escalator that asks them."""

from __future__ import annotations

import os

import structlog

from coffee_maker.config import LoadedConfig
from coffee_maker.notify.channels import Channel
from coffee_maker.notify.cli import CliChannel
from coffee_maker.notify.desktop import desktop_channel
from coffee_maker.notify.escalator import Escalation, Escalator, normalise_answer
from coffee_maker.notify.inbox import Inbox, PendingQuestion, QuestionStatus
from coffee_maker.notify.sink import InteractionSink, MemorySink
from coffee_maker.notify.terminal import TerminalChannel
from coffee_maker.notify.webhooks import AppriseChannel

log = structlog.get_logger(__name__)

__all__ = ["Channel", "Escalation", "Escalator", "Inbox", "InteractionSink", "MemorySink", "PendingQuestion", "QuestionStatus",
           "build_channels", "build_escalator", "normalise_answer"]


def build_channels(loaded: LoadedConfig, inbox: Inbox, *, skipped: list[tuple[str, str]] | None = None) -> list[Channel]:
    """The configured channels that can work here; the others are skipped with one log line each
    (and, with ``skipped``, listed there as (channel, why) — what `doctor` shows)."""
    settings = loaded.config.notify
    channels: list[Channel] = []

    def skip(name: str, why: str, level: str = "warning", **fields: str) -> None:
        if skipped is not None:  # the caller reports it (doctor's rows): a log line would say it twice
            skipped.append((name, why))
            level = "debug"
        getattr(log, level)(f"{name} channel skipped: {why}", **fields)

    for name in settings.channels:
        if name == "cli":
            channels.append(CliChannel())
        elif name == "terminal":
            if TerminalChannel.available():
                channels.append(TerminalChannel(inbox))
            else:
                skip(name, "not on a TTY", level="debug")
        elif name == "desktop":
            channels.append(desktop_channel(inbox, actions=settings.desktop_actions))
        elif name == "apprise":
            if settings.apprise_urls:
                channels.append(AppriseChannel(settings.apprise_urls))
            else:
                skip(name, "[notify] apprise_urls is empty")
        elif name == "slack":
            from coffee_maker.notify.slack import SlackChannel

            slack = settings.slack
            bot, app = os.environ.get(slack.bot_token_env), os.environ.get(slack.app_token_env)
            missing = [what for what, value in (("[notify.slack] channel", slack.channel),
                                                (f"${slack.bot_token_env} (xoxb- bot token)", bot),
                                                (f"${slack.app_token_env} (xapp- app token, Socket Mode)", app))
                       if not value]
            if missing:
                skip(name, "set " + ", ".join(missing), bot_env=slack.bot_token_env, app_env=slack.app_token_env)
                continue
            channels.append(SlackChannel(inbox, slack, bot_token=bot or "", app_token=app or ""))
        else:
            skip(name, "unknown channel (one of terminal, cli, desktop, slack, apprise)", channel=name)
    return channels


def build_escalator(loaded: LoadedConfig, *, sink: InteractionSink | None = None) -> Escalator:
    """The inbox at ``loaded.layout.inbox_db`` and the configured channels, with [notify] timeout and retries."""
    inbox = Inbox(loaded.layout.inbox_db)
    settings = loaded.config.notify
    return Escalator(inbox, build_channels(loaded, inbox), timeout_s=settings.timeout_s,
                     invalid_retries=settings.invalid_answer_retries, sink=sink)
