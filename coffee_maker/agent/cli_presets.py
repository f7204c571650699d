"""Built-in generic CLI entries: OpenAI Codex, Gemini CLI, aider — and the line → event mapper.

Why presets: people should get a working agent by writing ``backend = "codex"``; a
``[agent.cli.<name>]`` table with the same name replaces the preset. The shapes follow
each tool's documented headless output:

* Codex ``codex exec --json``: ``thread.started`` (``thread_id``), ``item.started`` /
  ``item.completed`` with ``item.type`` ``agent_message`` · ``command_execution`` ·
  ``file_change`` · ``reasoning``, ``turn.completed`` (``usage``), ``turn.failed``,
  ``error``; resume with ``codex exec resume <thread_id> <prompt>``.
* Gemini CLI ``gemini --output-format stream-json -p …``: ``init`` (``session_id``,
  ``model``), ``message`` (``role``, ``content``, ``delta``), ``tool_use`` (``tool_name``,
  ``tool_id``, ``parameters``), ``tool_result`` (``tool_id``, ``status``, ``output``),
  ``error`` (``severity``, ``message``), ``result`` (``status``, ``error``, ``stats``);
  resume with ``--resume <session_id>``.
* aider ``aider --message … --yes-always --no-pretty``: plain text; it keeps no session
  id, so "resume" restores the chat history of the working directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from coffee_maker.agent.events import (
    AgentEvent,
    InitEvent,
    RawEvent,
    ResultEvent,
    TextEvent,
    ToolResultEvent,
    ToolUseEvent,
)
from coffee_maker.config.agent import CliAgentSettings, EventMapping


def _m(when: dict[str, Any], event: str, fields: dict[str, str] | None = None,
       values: dict[str, Any] | None = None) -> EventMapping:
    return EventMapping.model_validate({"when": when, "event": event, "fields": fields or {}, "values": values or {}})


CODEX = CliAgentSettings.model_validate({
    "command": ["codex", "exec", "--json", "--skip-git-repo-check", "--full-auto", "-m", "{model}", "{prompt}"],
    "resume_command": ["codex", "exec", "--json", "--skip-git-repo-check", "--full-auto", "-m", "{model}",
                       "resume", "{session_id}", "{prompt}"],
    "output": "jsonl",
    "events": [
        _m({"type": "thread.started"}, "init", {"session_id": "thread_id"}),
        _m({"type": "item.completed", "item.type": "agent_message"}, "assistant_text", {"text": "item.text"}),
        _m({"type": "item.started", "item.type": "command_execution"}, "tool_use",
           {"tool_use_id": "item.id", "input.command": "item.command"}, {"name": "Bash"}),
        _m({"type": "item.completed", "item.type": "command_execution"}, "tool_result",
           {"tool_use_id": "item.id", "content": "item.aggregated_output", "is_error": "item.status==failed"}),
        _m({"type": "item.completed", "item.type": "file_change"}, "tool_use",
           {"tool_use_id": "item.id", "input.changes": "item.changes"}, {"name": "Edit"}),
        _m({"type": "item.completed", "item.type": "error"}, "error", {"message": "item.message"}),
        _m({"type": "turn.completed"}, "result", {"usage": "usage"}),
        _m({"type": "turn.failed"}, "error", {"message": "error.message"}),
        _m({"type": "error"}, "error", {"message": "message"}),
        _m({"type": "turn.started"}, "ignore"),
        _m({"type": "item.started"}, "ignore"),
        _m({"type": "item.updated"}, "ignore"),
    ],
    "usage_limit_pattern": r"usage limit|You've hit your usage limit|quota exceeded|insufficient_quota",
    "rate_limit_pattern": r"rate limit|429|Too Many Requests",
    "auth_failure_pattern": r"401 Unauthorized|not logged in|codex login|invalid api key",
    "pass_env": ["OPENAI_API_KEY", "CODEX_API_KEY", "OPENAI_BASE_URL", "CODEX_HOME", "CODEX_*"],
})

GEMINI = CliAgentSettings.model_validate({
    "command": ["gemini", "--output-format", "stream-json", "--approval-mode", "yolo", "-m", "{model}",
                "-p", "{prompt}"],
    "resume_command": ["gemini", "--output-format", "stream-json", "--approval-mode", "yolo", "-m", "{model}",
                       "--resume", "{session_id}", "-p", "{prompt}"],
    "output": "jsonl",
    "events": [
        _m({"type": "init"}, "init", {"session_id": "session_id", "model": "model"}),
        _m({"type": "message", "role": "assistant"}, "assistant_text", {"text": "content"}),
        _m({"type": "message"}, "ignore"),
        _m({"type": "tool_use"}, "tool_use", {"name": "tool_name", "tool_use_id": "tool_id", "input": "parameters"}),
        _m({"type": "tool_result"}, "tool_result",
           {"tool_use_id": "tool_id", "content": "output", "is_error": "status==error"}),
        _m({"type": "error", "severity": "error"}, "error", {"message": "message"}),
        _m({"type": "result"}, "result", {"is_error": "status==error", "text": "error.message", "usage": "stats"}),
    ],
    "usage_limit_pattern": r"quota exceeded|RESOURCE_EXHAUSTED|usage limit|daily limit",
    "rate_limit_pattern": r"\b429\b|rate limit",
    "auth_failure_pattern": r"set an Auth method|API key not valid|UNAUTHENTICATED|\b401\b",
    "pass_env": ["GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT",
                 "GOOGLE_CLOUD_LOCATION", "GOOGLE_GENAI_USE_VERTEXAI", "GEMINI_*"],
})

AIDER = CliAgentSettings.model_validate({
    "command": ["aider", "--message", "{prompt}", "--yes-always", "--no-pretty", "--no-check-update",
                "--model", "{model}"],
    "resume_command": ["aider", "--message", "{prompt}", "--yes-always", "--no-pretty", "--no-check-update",
                       "--restore-chat-history", "--model", "{model}"],
    "output": "text",
    "usage_limit_pattern": r"insufficient_quota|exceeded your current quota|usage limit",
    "rate_limit_pattern": r"RateLimitError|rate limit",
    "auth_failure_pattern": r"AuthenticationError|invalid api key|API key",
    # aider talks to whichever provider its model names: each one's key, and its own AIDER_* settings.
    "pass_env": ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "DEEPSEEK_API_KEY", "OPENROUTER_API_KEY",
                 "OPENAI_API_BASE", "AIDER_*"],
})

PRESETS: Mapping[str, CliAgentSettings] = {"codex": CODEX, "gemini": GEMINI, "aider": AIDER}


# ---------------------------------------------------------------------- mapping
def get_path(obj: Any, path: str) -> Any:
    """``get_path({"a": {"b": 1}}, "a.b") == 1``; a missing step gives None."""
    for part in path.split("."):
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(part)
    return obj


def _field(obj: Mapping[str, Any], spec: str) -> Any:
    if "==" in spec:
        path, _, expected = spec.partition("==")
        return str(get_path(obj, path)) == expected
    return get_path(obj, spec)


def _matches(obj: Mapping[str, Any], when: Mapping[str, Any]) -> bool:
    return all(get_path(obj, path) == value for path, value in when.items())


def map_object(obj: Mapping[str, Any], mappings: list[EventMapping]) -> AgentEvent | str | None:
    """One JSON object → an event, the text of an ``error`` mapping, or None (ignored)."""
    for mapping in mappings:
        if not _matches(obj, mapping.when):
            continue
        values: dict[str, Any] = dict(mapping.values)
        for name, spec in mapping.fields.items():
            value = _field(obj, spec)
            if "." in name:  # "input.command": build a nested field
                head, _, tail = name.partition(".")
                values.setdefault(head, {})[tail] = value
            elif value is not None:
                values[name] = value
        return _build(mapping.event, values, obj)
    return RawEvent(kind=str(obj.get("type", "json")), data=obj, raw=obj)


def _text(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


def _build(event: str, v: dict[str, Any], obj: Mapping[str, Any]) -> AgentEvent | str | None:
    if event == "ignore":
        return None
    if event == "error":
        return _text(v.get("message")) or "the agent reported an error"
    if event == "init":
        return InitEvent(session_id=v.get("session_id"), model=v.get("model"), raw=obj)
    if event == "assistant_text":
        return TextEvent(text=_text(v.get("text")), raw=obj)
    if event == "tool_use":
        tool_input = v.get("input")
        return ToolUseEvent(name=_text(v.get("name")), input=tool_input if isinstance(tool_input, dict) else {},
                            tool_use_id=v.get("tool_use_id"), raw=obj)
    if event == "tool_result":
        return ToolResultEvent(tool_use_id=v.get("tool_use_id"), content=_text(v.get("content")),
                               is_error=bool(v.get("is_error")), raw=obj)
    usage = v.get("usage")
    return ResultEvent(session_id=v.get("session_id"), is_error=bool(v.get("is_error")), text=_text(v.get("text")),
                       cost_usd=float(v.get("cost_usd") or 0.0), num_turns=int(v.get("num_turns") or 0),
                       usage=usage if isinstance(usage, dict) else {}, raw=obj)
