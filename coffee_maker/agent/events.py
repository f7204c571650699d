"""Typed agent events, shared by every backend (Claude Code, generic CLIs, scripted).

Why typed: the daemon, the interaction log and the CLI all read events; dataclasses
give them one vocabulary whichever agent runs, and make a protocol change a type
error instead of a silent ``KeyError``. Every event
keeps the original JSON in ``raw`` so nothing the agent said is lost. Each backend
decodes its own wire format into these (Claude Code: :mod:`coffee_maker.agent.claude.protocol`).

Each class has a ``type`` string (also the ``"type"`` key of :meth:`AgentEvent.to_dict`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

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

    def to_dict(self) -> dict[str, Any]:
        """As every event, with the decision's source written as its label (``"method": "rule:tests"``)."""
        body = AgentEvent.to_dict(self)
        body["decision"] = {("method" if k == "source" else k): (self.decision.source.label() if k == "source" else v)
                            for k, v in body["decision"].items()}
        return body


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
