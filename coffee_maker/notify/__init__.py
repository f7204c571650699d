"""Reaching a person: the pending-question inbox, channels, and the escalator that asks them."""

from __future__ import annotations

import os

import structlog

from coffee_maker.config import LoadedConfig
from coffee_maker.notify.channels import Channel
from coffee_maker.notify.cli import CliChannel
from coffee_maker.notify.desktop import desktop_channel
from coffee_maker.notify.escalator import Escalation, Escalator, normalise_answer
from coffee_maker.notify.inbox import Inbox, PendingQuestion
from coffee_maker.notify.sink import InteractionSink, MemorySink
from coffee_maker.notify.terminal import TerminalChannel
from coffee_maker.notify.webhooks import AppriseChannel

log = structlog.get_logger(__name__)

__all__ = ["Channel", "Escalation", "Escalator", "Inbox", "InteractionSink", "MemorySink", "PendingQuestion",
           "build_channels", "build_escalator", "normalise_answer"]


def build_channels(loaded: LoadedConfig, inbox: Inbox) -> list[Channel]:
    """The configured channels that can work here; the others are skipped with one log line each."""
    settings = loaded.config.notify
    channels: list[Channel] = []
    for name in settings.channels:
        if name == "cli":
            channels.append(CliChannel())
        elif name == "terminal":
            if TerminalChannel.available():
                channels.append(TerminalChannel(inbox))
            else:
                log.debug("terminal channel skipped: not on a TTY")
        elif name == "desktop":
            channels.append(desktop_channel(inbox, actions=settings.desktop_actions))
        elif name == "apprise":
            if settings.apprise_urls:
                channels.append(AppriseChannel(settings.apprise_urls))
            else:
                log.warning("apprise channel skipped: [notify] apprise_urls is empty")
        elif name == "slack":
            from coffee_maker.notify.slack import SlackChannel

            bot, app = os.environ.get(settings.slack.bot_token_env), os.environ.get(settings.slack.app_token_env)
            if not (bot and app and settings.slack.channel):
                log.warning("slack channel skipped: set [notify.slack] channel and the bot/app token variables",
                            bot_env=settings.slack.bot_token_env, app_env=settings.slack.app_token_env)
                continue
            channels.append(SlackChannel(inbox, settings.slack, bot_token=bot, app_token=app))
        else:
            log.warning("unknown notification channel skipped", channel=name)
    return channels


def build_escalator(loaded: LoadedConfig, *, sink: InteractionSink | None = None) -> Escalator:
    """The inbox at ``<state_dir>/inbox.db`` and the configured channels, with [notify] timeout and retries."""
    inbox = Inbox(loaded.state_dir / "inbox.db")
    settings = loaded.config.notify
    return Escalator(inbox, build_channels(loaded, inbox), timeout_s=settings.timeout_s,
                     invalid_retries=settings.invalid_answer_retries, sink=sink)
