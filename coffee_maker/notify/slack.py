"""Slack: a Block Kit message with Yes/No/Skip buttons; answers arrive over Socket Mode.

Socket Mode needs no public URL (an app-level `xapp-` token opens a websocket).
A click is acknowledged at once, checked against the allowed user IDs, written to
the inbox (first answer wins), and the message is updated to say who answered
what. A reply in the message's thread counts as an answer too.
"""

from __future__ import annotations

import threading
from typing import Any

import structlog
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from coffee_maker.config.notify import SlackSettings
from coffee_maker.notify.inbox import Inbox, PendingQuestion

log = structlog.get_logger(__name__)
SEPARATOR = "|"


def question_blocks(q: PendingQuestion) -> list[dict[str, Any]]:
    options = list(q.options) or ["yes", "no"]
    buttons = []
    for value in [*options, "skip"] if "skip" not in options else options:
        button: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": value.capitalize()},
                                  "value": f"{q.id}{SEPARATOR}{value}", "action_id": f"coffee_maker_{value}"}
        if value in ("yes", "allow"):
            button["style"] = "primary"
        elif value in ("no", "deny"):
            button["style"] = "danger"
        buttons.append(button)
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": f":coffee: *coffee-maker needs you* — {q.priority or ''}\n>{q.text}"}},
        {"type": "actions", "block_id": f"coffee_maker_{q.id}", "elements": buttons},
        {"type": "context", "elements": [{"type": "mrkdwn", "text":
            f"`{q.id}` · safe default on timeout: *{q.safe_default}* · or reply in this thread · `{q.answer_command()}`"}]},
    ]


class SlackChannel:
    name = "slack"

    def __init__(self, inbox: Inbox, settings: SlackSettings, *, bot_token: str, app_token: str) -> None:
        if not settings.channel:
            raise ValueError("[notify.slack] channel is not set")
        self.inbox = inbox
        self.settings = settings
        self.channel = settings.channel
        kwargs = {"base_url": settings.base_url} if settings.base_url else {}
        self.web = WebClient(token=bot_token, **kwargs)
        self.socket = SocketModeClient(app_token=app_token, web_client=self.web, auto_reconnect_enabled=True)
        self.socket.socket_mode_request_listeners.append(self._on_request)
        self._messages: dict[str, str] = {}  # question id → message ts
        self._threads: dict[str, str] = {}  # message ts → question id
        self._connected = False
        self._lock = threading.Lock()

    def _connect(self) -> None:
        with self._lock:
            if not self._connected:
                self.socket.connect()
                self._connected = True

    def close(self) -> None:
        if self._connected:
            self.socket.close()

    def ask(self, question: PendingQuestion) -> None:
        self._connect()
        response = self.web.chat_postMessage(channel=self.channel, text=f"coffee-maker needs you: {question.text}",
                                             blocks=question_blocks(question))
        ts = str(response["ts"])
        self._messages[question.id] = ts
        self._threads[ts] = question.id

    def resolve(self, question: PendingQuestion, answer: str, who: str) -> None:
        ts = self._messages.pop(question.id, None)
        if ts is None:
            return
        self._threads.pop(ts, None)
        who_text = f"<@{who.split(':')[-1]}>" if who.startswith("slack:") else who
        self.web.chat_update(channel=self.channel, ts=ts, text=f"Answered: {answer}", blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": f"~{question.text}~\n*{answer}* — answered by {who_text}"}}])

    def inform(self, message: str, *, kind: str = "info") -> None:
        self.web.chat_postMessage(channel=self.channel, text=f":coffee: {message}")

    # ------------------------------------------------------------------ socket mode

    def _on_request(self, client: SocketModeClient, request: SocketModeRequest) -> None:
        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))  # ack within 3 s
        payload = request.payload or {}
        try:
            if request.type == "interactive" and payload.get("type") == "block_actions":
                self._on_click(payload)
            elif request.type == "events_api":
                self._on_event(payload.get("event", {}))
        except SlackApiError as exc:
            log.warning("slack call failed while handling an answer", error=str(exc))

    def _allowed(self, user: str, channel: str) -> bool:
        if not self.settings.allowed_users or user in self.settings.allowed_users:
            return True
        log.warning("slack answer refused: user not allowed", user=user)
        self.web.chat_postEphemeral(channel=channel, user=user,
                                    text="Sorry, you are not on coffee-maker's list of people who may answer.")
        return False

    def _on_click(self, payload: dict[str, Any]) -> None:
        actions = payload.get("actions") or []
        user = payload.get("user", {}).get("id", "")
        channel = payload.get("channel", {}).get("id", self.channel)
        if not actions or SEPARATOR not in str(actions[0].get("value", "")):
            return
        qid, value = str(actions[0]["value"]).split(SEPARATOR, 1)
        if self._allowed(user, channel):
            self.inbox.answer(qid, value, who=f"slack:{user}", channel=self.name)

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") != "message" or event.get("bot_id") or "thread_ts" not in event:
            return
        qid = self._threads.get(str(event["thread_ts"]))
        text = str(event.get("text", "")).strip()
        user = str(event.get("user", ""))
        if qid and text and self._allowed(user, str(event.get("channel", self.channel))):
            self.inbox.answer(qid, text, who=f"slack:{user}", channel=self.name)
