"""Claude Code's headless stream-json wire format, both ways: pure functions, no process.

Verified against the real CLI (tests/agent/test_claude_real.py; notes in
docs/tech_decisions/agent-backend.md):

* start: ``claude --input-format stream-json --output-format stream-json --verbose
  --permission-prompt-tool stdio`` (:func:`command_line`) and send the prompt as a
  ``user`` line (:func:`user_message`);
* every tool call the permission mode does not settle arrives as a ``control_request``
  ``can_use_tool`` (:func:`request_from`); we answer ``allow`` (optionally with
  ``updatedInput``) or ``deny`` with a message the model reads as the tool's error
  (:func:`response_for`, :func:`control_response`);
* ``AskUserQuestion`` is answered by allowing it with ``updatedInput.answers``
  (question text → answer); the model then sees "The user answered: …";
* after a ``result`` another ``user`` line continues the same session; closing stdin
  lets the CLI exit;
* ``control_request`` ``interrupt`` (:func:`interrupt_request`) ends the current turn
  (``error_during_execution``).

Decoding turns each stdout line into the typed events of :mod:`coffee_maker.agent.events`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from coffee_maker.agent.events import (
    AgentEvent,
    ControlRequestEvent,
    InitEvent,
    PermissionDeniedEvent,
    RawEvent,
    ResultEvent,
    TextEvent,
    ToolResultEvent,
    ToolUseEvent,
)
from coffee_maker.config.agent import AgentSettings
from coffee_maker.types import Decision, DecisionKind, PermissionRequest, Question

#: The tool Claude Code uses to ask the user a multiple-choice question.
ASK_TOOL = "AskUserQuestion"

#: Stream-json both ways, and permission prompts as control requests on stdout.
HEADLESS_FLAGS = ("--input-format", "stream-json", "--output-format", "stream-json", "--verbose",
                  "--permission-prompt-tool", "stdio")


# ---------------------------------------------------------------------- the command line
def command_line(binary: str, settings: AgentSettings, resume_session_id: str | None = None) -> list[str]:
    """The argv of a headless session: flags, then the configured mode, model and tool rules."""
    argv = [binary, *HEADLESS_FLAGS]
    if settings.permission_mode != "default":
        argv += ["--permission-mode", settings.permission_mode]
    if settings.model:
        argv += ["--model", settings.model]
    for rule in settings.allowed_tools:
        argv += ["--allowedTools", rule]
    for rule in settings.disallowed_tools:
        argv += ["--disallowedTools", rule]
    if resume_session_id:
        argv += ["--resume", resume_session_id]
    return argv + list(settings.extra_args)


# ---------------------------------------------------------------------- encoding (stdin)
def user_message(text: str, session_id: str | None = None) -> dict[str, Any]:
    """A user turn: the prompt, or a follow-up after a ``result``."""
    return {"type": "user", "message": {"role": "user", "content": text},
            "parent_tool_use_id": None, "session_id": session_id or ""}


def control_response(request_id: str, response: Mapping[str, Any]) -> dict[str, Any]:
    """The answer to the control request ``request_id``."""
    return {"type": "control_response",
            "response": {"subtype": "success", "request_id": request_id, "response": dict(response)}}


def control_error(request_id: str, subtype: str) -> dict[str, Any]:
    """The refusal of a control request we do not handle, so the CLI does not wait for it."""
    return {"type": "control_response", "response": {
        "subtype": "error", "request_id": request_id,
        "error": f"coffee_maker does not handle {subtype!r} requests"}}


def interrupt_request(request_id: str) -> dict[str, Any]:
    """Ask the CLI to end the current turn."""
    return {"type": "control_request", "request_id": request_id, "request": {"subtype": "interrupt"}}


# ---------------------------------------------------------------------- permission prompts
def request_from(control: Mapping[str, Any]) -> PermissionRequest | Question:
    """A ``can_use_tool`` control request → what the decision callback sees."""
    tool = str(control.get("tool_name") or "")
    tool_input = control.get("input") if isinstance(control.get("input"), dict) else {}
    assert isinstance(tool_input, dict)
    tool_use_id = control.get("tool_use_id") if isinstance(control.get("tool_use_id"), str) else None
    if tool == ASK_TOOL:
        questions = [q for q in tool_input.get("questions") or [] if isinstance(q, dict)]
        text = "\n".join(str(q.get("question", "")) for q in questions) or "The agent asks a question."
        options = tuple(str(o.get("label", "")) for o in (questions[0].get("options") or [] if questions else [])
                        if isinstance(o, dict))
        return Question(text=text, options=options, source="ask_user_question",
                        context={"questions": questions, "tool_use_id": tool_use_id})
    suggestions = tuple(s for s in control.get("permission_suggestions") or [] if isinstance(s, dict))
    return PermissionRequest(tool=tool, input=tool_input, tool_use_id=tool_use_id, suggestions=suggestions)


def response_for(request: PermissionRequest | Question, decision: Decision,
                 original_input: Mapping[str, Any]) -> dict[str, Any]:
    """The ``can_use_tool`` answer for a decision (allow / allow edited / deny with message)."""
    if isinstance(request, Question):
        if decision.kind in (DecisionKind.ANSWER, DecisionKind.ALLOW) and (decision.answer or decision.updated_input):
            if decision.updated_input is not None:
                return {"behavior": "allow", "updatedInput": dict(decision.updated_input)}
            questions = request.context.get("questions") or []
            answers = {str(q.get("question", "")): str(decision.answer) for q in questions}
            return {"behavior": "allow", "updatedInput": {**original_input, "answers": answers}}
        return {"behavior": "deny", "message": decision.message or decision.answer or "No answer."}
    if decision.kind is DecisionKind.ALLOW:
        updated = decision.updated_input if decision.updated_input is not None else original_input
        return {"behavior": "allow", "updatedInput": dict(updated)}
    message = decision.message or decision.answer or f"Permission to use {request.tool} was denied."
    return {"behavior": "deny", "message": message}


# ---------------------------------------------------------------------- decoding (stdout)
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


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _content_text(content: Any) -> str:
    """A tool_result's content as text (it is a string or a list of text blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return "" if content is None else str(content)


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
