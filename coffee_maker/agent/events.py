"""Typed agent events, and the parser that turns Claude Code stream-json lines into them.

Why typed: the daemon, the interaction log and the CLI all read events; dataclasses
give them one vocabulary for every backend (Claude Code, generic CLIs, scripted) and
make a protocol change a type error instead of a silent ``KeyError``. Every event
keeps the original JSON in ``raw`` so nothing the agent said is lost.

Each class has a ``type`` string (also the ``"type"`` key of :meth:`AgentEvent.to_dict`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import orjson

from coffee_maker.types import Decision, PermissionRequest, Question


@dataclass(frozen=True, slots=True)
class AgentEvent:
    """Base of every event; ``raw`` is the JSON object it came from (empty when synthetic)."""

    type: ClassVar[str] = "event"
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with ``"type"`` first and without ``raw``."""
        body = {k: v for k, v in asdict(self).items() if k != "raw"}
        return {"type": self.type, **body}


@dataclass(frozen=True, slots=True)
class InitEvent(AgentEvent):
    type: ClassVar[str] = "init"
    session_id: str | None
    model: str | None = None
    cwd: str | None = None
    tools: tuple[str, ...] = ()
    permission_mode: str | None = None
    version: str | None = None


@dataclass(frozen=True, slots=True)
class TextEvent(AgentEvent):
    """Assistant text (one content block)."""

    type: ClassVar[str] = "assistant_text"
    text: str
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class ToolUseEvent(AgentEvent):
    type: ClassVar[str] = "tool_use"
    name: str
    input: Mapping[str, Any]
    tool_use_id: str | None = None
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class ToolResultEvent(AgentEvent):
    type: ClassVar[str] = "tool_result"
    tool_use_id: str | None
    content: str
    is_error: bool = False


@dataclass(frozen=True, slots=True)
class PermissionDeniedEvent(AgentEvent):
    """A tool call was refused — by the decision callback, a timeout, or the CLI's own mode."""

    type: ClassVar[str] = "permission_denied"
    tool: str
    message: str = ""
    tool_use_id: str | None = None


@dataclass(frozen=True, slots=True)
class DecisionEvent(AgentEvent):
    """A permission request or question and how it was decided (for logs and the CLI)."""

    type: ClassVar[str] = "decision"
    request: PermissionRequest | Question
    decision: Decision


@dataclass(frozen=True, slots=True)
class ControlRequestEvent(AgentEvent):
    """A control request from the CLI (``can_use_tool`` …); the backend answers it."""

    type: ClassVar[str] = "control_request"
    request_id: str
    subtype: str
    request: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ResultEvent(AgentEvent):
    """The end of one turn of the conversation, with what the CLI reports about it."""

    type: ClassVar[str] = "result"
    session_id: str | None
    subtype: str = "success"
    is_error: bool = False
    text: str = ""
    cost_usd: float = 0.0
    num_turns: int = 0
    usage: Mapping[str, Any] = field(default_factory=dict)
    duration_ms: int = 0
    api_error_status: int | None = None
    terminal_reason: str | None = None


@dataclass(frozen=True, slots=True)
class RawEvent(AgentEvent):
    """A line of a type this version does not know — passed through, never a crash."""

    type: ClassVar[str] = "raw"
    kind: str
    data: Mapping[str, Any]


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _content_text(content: Any) -> str:
    """A tool_result's content as text (it is a string or a list of text blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return "" if content is None else str(content)


def parse_line(line: str | bytes) -> list[AgentEvent] | None:
    """One stream-json line → its events; ``None`` when the line is not a JSON object.

    An ``assistant`` or ``user`` line may hold several content blocks, hence a list.
    """
    try:
        obj = orjson.loads(line)  # ~3x the stdlib's speed: the reader parses every line of a session
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    return parse_object(obj)


def parse_object(obj: Mapping[str, Any]) -> list[AgentEvent]:
    """One decoded stream-json object → its events (unknown shapes → :class:`RawEvent`)."""
    kind = obj.get("type")
    if kind == "assistant":
        return _assistant(obj)
    if kind == "user":
        return _user(obj)
    if kind == "result":
        return [_result(obj)]
    if kind == "system":
        sub = obj.get("subtype")
        if sub == "init":
            tools = obj.get("tools") or ()
            return [InitEvent(
                session_id=_str_or_none(obj.get("session_id")), model=_str_or_none(obj.get("model")),
                cwd=_str_or_none(obj.get("cwd")), tools=tuple(str(t) for t in tools),
                permission_mode=_str_or_none(obj.get("permissionMode")),
                version=_str_or_none(obj.get("claude_code_version") or obj.get("version")), raw=obj)]
        if sub == "permission_denied":
            return [PermissionDeniedEvent(
                tool=str(obj.get("tool_name") or obj.get("tool") or ""),
                message=str(obj.get("message") or obj.get("reason") or ""),
                tool_use_id=_str_or_none(obj.get("tool_use_id")), raw=obj)]
    if kind == "control_request":
        request = obj.get("request")
        if isinstance(request, dict):
            return [ControlRequestEvent(request_id=str(obj.get("request_id", "")),
                                        subtype=str(request.get("subtype", "")), request=request, raw=obj)]
    label = f"{kind}/{obj.get('subtype')}" if obj.get("subtype") else str(kind)
    return [RawEvent(kind=label, data=obj, raw=obj)]


def _assistant(obj: Mapping[str, Any]) -> list[AgentEvent]:
    message = obj.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("content"), list):
        return [RawEvent(kind="assistant", data=obj, raw=obj)]
    msg_id = _str_or_none(message.get("id"))
    events: list[AgentEvent] = []
    for block in message["content"]:
        if not isinstance(block, dict):
            continue
        btype = block.get("type")
        if btype == "text":
            events.append(TextEvent(text=str(block.get("text", "")), message_id=msg_id, raw=obj))
        elif btype == "tool_use":
            tool_input = block.get("input")
            events.append(ToolUseEvent(name=str(block.get("name", "")),
                                       input=tool_input if isinstance(tool_input, dict) else {},
                                       tool_use_id=_str_or_none(block.get("id")), message_id=msg_id, raw=obj))
        else:
            events.append(RawEvent(kind=f"assistant/{btype}", data=block, raw=obj))
    return events


def _user(obj: Mapping[str, Any]) -> list[AgentEvent]:
    message = obj.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    events: list[AgentEvent] = []
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                events.append(ToolResultEvent(tool_use_id=_str_or_none(block.get("tool_use_id")),
                                              content=_content_text(block.get("content")),
                                              is_error=bool(block.get("is_error")), raw=obj))
    return events or [RawEvent(kind="user", data=obj, raw=obj)]


def _errors_text(errors: Any) -> str:
    """An error result without a ``result`` text says why in ``errors`` ("No conversation found …")."""
    return "; ".join(str(e) for e in errors) if isinstance(errors, list) else ""


def _result(obj: Mapping[str, Any]) -> ResultEvent:
    usage = obj.get("usage")
    status = obj.get("api_error_status")
    return ResultEvent(
        session_id=_str_or_none(obj.get("session_id")), subtype=str(obj.get("subtype") or ""),
        is_error=bool(obj.get("is_error")), text=str(obj.get("result") or _errors_text(obj.get("errors"))),
        cost_usd=float(obj.get("total_cost_usd") or 0.0), num_turns=int(obj.get("num_turns") or 0),
        usage=usage if isinstance(usage, dict) else {}, duration_ms=int(obj.get("duration_ms") or 0),
        api_error_status=int(status) if isinstance(status, int | float) else None,
        terminal_reason=_str_or_none(obj.get("terminal_reason")), raw=obj)
