"""Parsing Claude Code stream-json lines into typed events."""

from __future__ import annotations

import json

from coffee_maker.agent.events import (
    ControlRequestEvent,
    InitEvent,
    PermissionDeniedEvent,
    RawEvent,
    ResultEvent,
    TextEvent,
    ToolResultEvent,
    ToolUseEvent,
    parse_line,
)


def line(obj: object) -> bytes:
    return json.dumps(obj).encode()


class TestParseLine:
    def test_init(self) -> None:
        """system/init gives the session id, model, cwd and tools."""
        (event,) = parse_line(line({"type": "system", "subtype": "init", "session_id": "s", "model": "m",
                                    "cwd": "/w", "tools": ["Bash"], "permissionMode": "default"})) or []
        assert event == InitEvent(session_id="s", model="m", cwd="/w", tools=("Bash",), permission_mode="default")

    def test_assistant_blocks(self) -> None:
        """One assistant line with text and tool_use gives one event per block."""
        events = parse_line(line({"type": "assistant", "message": {"id": "m1", "content": [
            {"type": "text", "text": "hi"}, {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls"}},
            {"type": "thinking", "thinking": "hmm"}]}}))
        assert events is not None
        assert events[0] == TextEvent(text="hi", message_id="m1")
        assert events[1] == ToolUseEvent(name="Bash", input={"command": "ls"}, tool_use_id="t1", message_id="m1")
        assert isinstance(events[2], RawEvent) and events[2].kind == "assistant/thinking"

    def test_tool_result_content_list(self) -> None:
        """A tool_result whose content is a list of text blocks becomes one string."""
        (event,) = parse_line(line({"type": "user", "message": {"content": [
            {"type": "tool_result", "tool_use_id": "t1", "is_error": True,
             "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]}})) or []
        assert event == ToolResultEvent(tool_use_id="t1", content="a\nb", is_error=True)

    def test_result(self) -> None:
        """result carries cost, turns, usage, error status and the final text."""
        (event,) = parse_line(line({"type": "result", "subtype": "success", "is_error": True, "result": "API Error",
                                    "session_id": "s", "total_cost_usd": 0.5, "num_turns": 3, "duration_ms": 9,
                                    "usage": {"input_tokens": 1}, "api_error_status": 529})) or []
        assert isinstance(event, ResultEvent)
        assert (event.cost_usd, event.num_turns, event.api_error_status, event.text) == (0.5, 3, 529, "API Error")

    def test_permission_denied_and_control_request(self) -> None:
        """permission_denied and can_use_tool control requests have their own types."""
        (denied,) = parse_line(line({"type": "system", "subtype": "permission_denied", "tool_name": "Bash",
                                     "message": "no"})) or []
        assert denied == PermissionDeniedEvent(tool="Bash", message="no")
        (control,) = parse_line(line({"type": "control_request", "request_id": "r",
                                      "request": {"subtype": "can_use_tool", "tool_name": "Bash"}})) or []
        assert isinstance(control, ControlRequestEvent) and control.subtype == "can_use_tool"

    def test_unknown_types_are_raw_and_garbage_is_none(self) -> None:
        """An unknown type is a raw event; a non-JSON line is None, never an exception."""
        (raw,) = parse_line(line({"type": "stream_event", "event": {}})) or []
        assert isinstance(raw, RawEvent) and raw.kind == "stream_event"
        assert parse_line(b"Welcome!") is None and parse_line(b"[1, 2]") is None

    def test_to_dict_has_type_first_and_no_raw(self) -> None:
        """to_dict is JSON-ready with "type" and without the raw object."""
        event = TextEvent(text="x", raw={"big": "object"})
        assert event.to_dict() == {"type": "assistant_text", "text": "x", "message_id": None}
