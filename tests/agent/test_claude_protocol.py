"""Claude Code's stream-json wire format: decoding lines, encoding turns and control messages."""

from __future__ import annotations

import json

from coffee_maker.agent.claude.protocol import (
    ASK_TOOL,
    control_error,
    control_response,
    interrupt_request,
    parse_line,
    request_from,
    response_for,
    user_message,
)
from coffee_maker.agent.events import (
    ControlRequestEvent,
    InitEvent,
    PermissionDeniedEvent,
    RawEvent,
    ResultEvent,
    TextEvent,
    ToolResultEvent,
    ToolUseEvent,
)
from coffee_maker.types import Decision, DecisionKind, PermissionRequest, Question


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


class TestEncoding:
    def test_user_message(self) -> None:
        """A user turn carries the text and the session id (empty before the CLI names one)."""
        assert user_message("Fix it.") == {"type": "user", "message": {"role": "user", "content": "Fix it."},
                                           "parent_tool_use_id": None, "session_id": ""}
        assert user_message("Go on.", "s1")["session_id"] == "s1"

    def test_control_response_and_error(self) -> None:
        """A handled request gets a success response; an unhandled subtype an error naming it."""
        assert control_response("r1", {"behavior": "deny", "message": "no"}) == {
            "type": "control_response",
            "response": {"subtype": "success", "request_id": "r1", "response": {"behavior": "deny", "message": "no"}}}
        refused = control_error("r2", "mcp_message")["response"]
        assert (refused["subtype"], refused["request_id"]) == ("error", "r2")
        assert "'mcp_message'" in refused["error"]

    def test_interrupt_request(self) -> None:
        """An interrupt is a control request of subtype interrupt."""
        assert interrupt_request("i1") == {"type": "control_request", "request_id": "i1",
                                           "request": {"subtype": "interrupt"}}


class TestPermissionPrompts:
    def test_tool_request(self) -> None:
        """can_use_tool for a tool becomes a PermissionRequest with its input, id and suggestions."""
        request = request_from({"subtype": "can_use_tool", "tool_name": "Bash", "input": {"command": "ls"},
                                "tool_use_id": "t1", "permission_suggestions": [{"type": "addRules"}, "junk"]})
        assert request == PermissionRequest(tool="Bash", input={"command": "ls"}, tool_use_id="t1",
                                            suggestions=({"type": "addRules"},))

    def test_ask_user_question_request(self) -> None:
        """AskUserQuestion becomes a Question with the question text and the first question's options."""
        questions = [{"question": "Which database?", "options": [{"label": "SQLite"}, {"label": "Postgres"}]}]
        request = request_from({"tool_name": ASK_TOOL, "input": {"questions": questions}, "tool_use_id": "t2"})
        assert request == Question(text="Which database?", options=("SQLite", "Postgres"),
                                   source="ask_user_question", context={"questions": questions, "tool_use_id": "t2"})

    def test_allow_keeps_or_edits_the_input(self) -> None:
        """Allow answers with the original input, or with the decision's edited input."""
        request = PermissionRequest(tool="Bash", input={"command": "ls"})
        assert response_for(request, Decision(kind=DecisionKind.ALLOW), {"command": "ls"}) == {
            "behavior": "allow", "updatedInput": {"command": "ls"}}
        edited = Decision(kind=DecisionKind.ALLOW, updated_input={"command": "ls -a"})
        assert response_for(request, edited, {"command": "ls"})["updatedInput"] == {"command": "ls -a"}

    def test_deny_says_why(self) -> None:
        """Deny carries the decision's message, or a sentence naming the tool."""
        request = PermissionRequest(tool="Bash", input={})
        assert response_for(request, Decision(kind=DecisionKind.DENY, message="not here"), {}) == {
            "behavior": "deny", "message": "not here"}
        assert response_for(request, Decision(kind=DecisionKind.DENY), {})["message"] == (
            "Permission to use Bash was denied.")

    def test_question_answer_fills_answers(self) -> None:
        """An answered question allows the tool with answers keyed by question text; no answer denies."""
        questions = [{"question": "Which database?"}]
        request = Question(text="Which database?", source="ask_user_question", context={"questions": questions})
        original = {"questions": questions}
        answered = response_for(request, Decision(kind=DecisionKind.ANSWER, answer="SQLite"), original)
        assert answered == {"behavior": "allow",
                            "updatedInput": {"questions": questions, "answers": {"Which database?": "SQLite"}}}
        assert response_for(request, Decision(kind=DecisionKind.DENY), original) == {
            "behavior": "deny", "message": "No answer."}
