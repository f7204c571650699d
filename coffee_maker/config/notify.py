"""[notify] — the channels that reach a person, in escalation order."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SlackSettings(BaseModel):
    """Slack: a bot token to post, an app-level token for Socket Mode (no public URL)."""

    model_config = ConfigDict(extra="forbid")

    channel: str | None = Field(None, description="Channel ID to post questions in (e.g. C0123456).")
    bot_token_env: str = Field("SLACK_BOT_TOKEN", description="Env variable with the xoxb- bot token.")
    app_token_env: str = Field("SLACK_APP_TOKEN", description="Env variable with the xapp- app-level token.")
    allowed_users: list[str] = Field(default_factory=list, description="Slack user IDs allowed to answer.")
    base_url: str | None = Field(None, description="Slack Web API base URL, ending in '/' (tests, proxies).")
    poll_replies_s: float = Field(15.0, description="Poll thread replies this often (0 = only message events).")


class NotifySettings(BaseModel):
    """Who is asked, how, and how long the daemon waits."""

    model_config = ConfigDict(extra="forbid")

    channels: list[str] = Field(
        default_factory=lambda: ["terminal", "cli", "desktop"],
        description="Escalation channels in order: terminal, cli, desktop, slack, apprise.",
    )
    timeout_s: float = Field(1800.0, description="How long to wait for a person before the safe default.")
    invalid_answer_retries: int = Field(2, description="Re-prompts after an answer that is not one of the options.")
    apprise_urls: list[str] = Field(default_factory=list,
                                    description="One-way webhooks/email via apprise, e.g. 'ntfy://topic', 'discord://…'.")
    desktop_actions: bool = Field(True, description="Yes/No/Skip buttons on desktop notifications "
                                  "(needs the 'desktop' extra, desktop-notifier); plain plyer otherwise.")
    slack: SlackSettings = Field(default_factory=SlackSettings)
