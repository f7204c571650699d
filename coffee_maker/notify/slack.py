"""Slack: a Block Kit message with Yes/No/Skip buttons; answers arrive over Socket Mode.

Why Socket Mode: it needs no public URL (an app-level `xapp-` token opens a
websocket), which suits a daemon on a laptop. A click is acknowledged at once,
checked against the allowed user IDs (others get an ephemeral refusal), written
to the inbox (first answer wins), and the message is updated to say who answered
what. A reply in the message's thread counts too: pushed as a message event when
the app subscribes to them, and polled with `conversations.replies` as a fallback.

Every Web API call retries as Slack asks: a 429 waits its ``Retry-After``, a 500/503
and a dropped connection are tried again (slack-sdk's shipped retry handlers), so
a rate-limited post is delayed, not lost.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import structlog
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    RetryHandler,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from coffee_maker.config.notify import SlackSettings
from coffee_maker.notify.channels import Channel
from coffee_maker.notify.inbox import Inbox, PendingQuestion

#: How many recent questions keep their thread for follow-up notices.
_THREADS_KEPT = 256

log = structlog.get_logger(__name__)
SEPARATOR = "|"
CHANNEL = "slack"  # the channel name answers from here carry (high-severity tiers name it)


def retry_handlers() -> list[RetryHandler]:
    """Retry a rate limit after its Retry-After, a server error and a lost connection — a few times each."""
    return [ConnectionErrorRetryHandler(max_retry_count=3), RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2)]


def question_blocks(q: PendingQuestion) -> list[dict[str, Any]]:
    """Section (the question), actions (one button per option, plus Skip), context (id, default, CLI)."""
    options = list(q.options) or ["yes", "no"]
    buttons = []
    for value in [*options, "skip"] if "skip" not in options else options:
        label = "Skip" if value == "skip" and "skip" not in q.options else value  # options shown as given
        button: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": label[:75]},
                                  "value": f"{q.id}{SEPARATOR}{value}", "action_id": f"coffee_maker_{value}"}
        if value in ("yes", "allow"):
            button["style"] = "primary"
        elif value in ("no", "deny"):
            button["style"] = "danger"
        buttons.append(button)
    question = {"type": "section", "text": {"type": "mrkdwn",
                                            "text": f":coffee: *coffee-maker needs you* — {q.priority or ''}\n>{q.text}"}}
    if not q.answers_here(CHANNEL):  # a high-severity request: a click would be refused, so offer none
        return [question, {"type": "context", "elements": [{"type": "mrkdwn", "text":
            f"`{q.id}` · high severity: answer from {' or '.join(q.answer_from)} (`{q.answer_command()}`), "
            f"not here · safe default on timeout: *{q.safe_default}*"}]}]
    return [
        question,
        {"type": "actions", "block_id": f"coffee_maker_{q.id}", "elements": buttons},
        {"type": "context", "elements": [{"type": "mrkdwn", "text":
            f"`{q.id}` · safe default on timeout: *{q.safe_default}* · or reply in this thread · "
            f"`{q.answer_command()}`"}]},
    ]


def answered_blocks(q: PendingQuestion, answer: str, who: str) -> list[dict[str, Any]]:
    """The message after an answer: buttons gone, who answered what."""
    if who == "timeout_default":
        line = f"no answer in time — safe default *{answer}* used"
    else:
        who_text = f"<@{who.split(':')[-1]}>" if who.startswith("slack:") else who
        line = f"*{answer}* — answered by {who_text}"
    return [{"type": "section", "text": {"type": "mrkdwn", "text": f"~{q.text}~\n{line}"}}]


class SlackChannel(Channel):
    """Posts questions with buttons, listens on Socket Mode, polls thread replies as a fallback."""

    name = CHANNEL
    live_prompts = True

    def __init__(self, inbox: Inbox, settings: SlackSettings, *, bot_token: str, app_token: str,
                 web_client: WebClient | None = None) -> None:
        if not settings.channel:
            raise ValueError("[notify.slack] channel is not set")
        self.inbox = inbox
        self.settings = settings
        self.channel = settings.channel
        self.web = web_client or (
            WebClient(token=bot_token, base_url=settings.base_url, retry_handlers=retry_handlers())
            if settings.base_url else WebClient(token=bot_token, retry_handlers=retry_handlers()))
        self.socket = SocketModeClient(app_token=app_token, web_client=self.web, auto_reconnect_enabled=True)
        self.socket.socket_mode_request_listeners.append(self._on_request)  # type: ignore[arg-type]
        self._messages: dict[str, tuple[str, PendingQuestion]] = {}  # question id → (message ts, question)
        #: Question id → its message ts, kept after the answer so follow-ups land in the thread.
        self._threads: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self._connected = False
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    def _connect(self) -> None:
        with self._lock:
            if not self._connected:
                self.socket.connect()
                self._connected = True
            if self.settings.poll_replies_s > 0 and (self._poller is None or not self._poller.is_alive()):
                self._poller = threading.Thread(target=self._poll_replies, name="slack-replies", daemon=True)
                self._poller.start()

    def close(self) -> None:
        self._stop.set()
        if self._connected:
            self.socket.close()
            self._connected = False

    def ask(self, question: PendingQuestion) -> None:
        self._connect()
        response = self.web.chat_postMessage(channel=self.channel, text=f"coffee-maker needs you: {question.text}",
                                             blocks=question_blocks(question))
        with self._lock:
            self._messages[question.id] = (str(response["ts"]), question)
            self._threads[question.id] = str(response["ts"])
            while len(self._threads) > _THREADS_KEPT:
                self._threads.popitem(last=False)

    def _settle(self, question: PendingQuestion) -> str | None:
        """The ts of the question's message, which stops taking answers; None if it has none open."""
        with self._lock:
            entry = self._messages.pop(question.id, None)
        return None if entry is None else entry[0]

    def resolve(self, question: PendingQuestion, answer: str, who: str) -> None:
        ts = self._settle(question)
        if ts is not None:
            self.web.chat_update(channel=self.channel, ts=ts, text=f"Answered: {answer}",
                                 blocks=answered_blocks(question, answer, who))

    def withdraw(self, question: PendingQuestion, note: str) -> None:
        """The daemon stops: the buttons go (a click would answer nobody); the question comes back on resume."""
        ts = self._settle(question)
        if ts is not None:
            self.web.chat_update(channel=self.channel, ts=ts, text=f"The daemon stopped; this question {note}.",
                                 blocks=[{"type": "section", "text": {"type": "mrkdwn", "text":
                                          f"~{question.text}~\n_the daemon stopped — this question {note}_"}}])

    def inform(self, message: str, *, kind: str = "info") -> None:
        self.web.chat_postMessage(channel=self.channel, text=f":coffee: {message}")

    def follow_up(self, question: PendingQuestion, message: str, *, kind: str) -> None:
        """A notice about one question (answer again, timed out) goes in its thread, where the person is."""
        with self._lock:
            ts = self._threads.get(question.id)
        if ts is None:
            self.inform(message, kind=kind)
            return
        # A timeout is also shown in the channel: nobody may be watching the thread.
        self.web.chat_postMessage(channel=self.channel, text=f":coffee: {message}", thread_ts=ts,
                                  reply_broadcast=kind == "timeout")

    # ------------------------------------------------------------------ answers

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
        try:
            self.web.chat_postEphemeral(channel=channel, user=user,
                                        text="Sorry, you are not on coffee-maker's list of people who may answer.")
        except SlackApiError as exc:
            log.debug("ephemeral refusal failed", error=str(exc))
        return False

    def _on_click(self, payload: dict[str, Any]) -> None:
        actions = payload.get("actions") or []
        user = str(payload.get("user", {}).get("id", ""))
        channel = str(payload.get("channel", {}).get("id", self.channel))
        if not actions or SEPARATOR not in str(actions[0].get("value", "")):
            return
        qid, value = str(actions[0]["value"]).split(SEPARATOR, 1)
        if self._allowed(user, channel):
            self.inbox.answer(qid, value, who=f"slack:{user}", channel=self.name)

    def _qid_for_thread(self, ts: str) -> str | None:
        with self._lock:
            return next((qid for qid, (message_ts, _) in self._messages.items() if message_ts == ts), None)

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") != "message" or event.get("bot_id") or "thread_ts" not in event:
            return
        qid = self._qid_for_thread(str(event["thread_ts"]))
        text = str(event.get("text", "")).strip()
        user = str(event.get("user", ""))
        if qid and text and self._allowed(user, str(event.get("channel", self.channel))):
            self.inbox.answer(qid, text, who=f"slack:{user}", channel=self.name)

    def _poll_replies(self) -> None:
        """Fallback for apps not subscribed to message events: read each open question's thread."""
        seen: set[str] = set()
        while not self._stop.wait(self.settings.poll_replies_s):
            with self._lock:
                open_messages = list(self._messages.items())
            for ts, _ in (entry for _, entry in open_messages):
                try:
                    replies = self.web.conversations_replies(channel=self.channel, ts=ts).get("messages") or []
                except (SlackApiError, OSError) as exc:  # Slack down or unreachable: try again next round
                    log.debug("conversations.replies failed", error=str(exc))
                    continue
                for message in replies:
                    key = f"{ts}/{message.get('ts')}"
                    if message.get("ts") == ts or message.get("bot_id") or key in seen:
                        continue
                    seen.add(key)
                    self._on_event({"type": "message", "thread_ts": ts, "text": message.get("text", ""),
                                    "user": message.get("user", ""), "channel": self.channel})
