"""The Claude Code backend: the `claude` CLI driven headless over stream-json, both ways.

Why our own wrapper and not ``claude-agent-sdk``: see docs/tech_decisions/agent-backend.md
(sync fit, process-group kill, no 170 MB wheel). The protocol, verified against the
real CLI (tests/agent/test_claude_real.py):

* start: ``claude --input-format stream-json --output-format stream-json --verbose
  --permission-prompt-tool stdio`` and send the prompt as a ``user`` line;
* every tool call the permission mode does not settle arrives as a ``control_request``
  ``can_use_tool``; we answer ``allow`` (optionally with ``updatedInput``) or ``deny``
  with a message the model reads as the tool's error;
* ``AskUserQuestion`` is answered by allowing it with ``updatedInput.answers``
  (question text → answer); the model then sees "The user answered: …";
* after a ``result`` another ``user`` line continues the same session (used to answer
  a question the final text ends with); closing stdin lets the CLI exit;
* ``control_request`` ``interrupt`` ends the current turn (``error_during_execution``).

The loop itself lives in :mod:`coffee_maker.agent._claude_session`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from coffee_maker.agent.base import EventCallback, Limits, StopFlag
from coffee_maker.config.agent import AgentSettings
from coffee_maker.environment import (
    CLAUDE_CREDENTIALS,
    CLAUDE_OWN,
    AgentEnvironment,
    build_environment,
)
from coffee_maker.types import (
    Decision,
    DecisionCallback,
    DecisionKind,
    PermissionRequest,
    Question,
    SessionOutcome,
)

#: The tool Claude Code uses to ask the user a multiple-choice question.
ASK_TOOL = "AskUserQuestion"


class ClaudeCodeBackend:
    """Runs Claude Code sessions. One session at a time per instance; ``stop`` is thread-safe.

    ``settings`` supplies binary, model, permission mode, allowed/disallowed tools,
    extra args, environment, auth and limits; ``binary``/``limits``/``env`` override them.
    """

    name = "claude"

    def __init__(self, settings: AgentSettings | None = None, *, binary: str | None = None,
                 limits: Limits | None = None, env: Mapping[str, str] | None = None,
                 kill_grace_s: float = 3.0) -> None:
        self.settings = settings or AgentSettings.model_validate({})
        self.binary = binary or self.settings.binary
        self.limits = limits or Limits.from_settings(self.settings)
        self.extra_env = dict(env or {})
        self.kill_grace_s = kill_grace_s
        self._stop = StopFlag()
        self._lock = threading.Lock()
        self._current: Any = None  # the running _ClaudeSession, for stop()

    # ------------------------------------------------------------------ building the command
    def command(self, resume_session_id: str | None = None) -> list[str]:
        s = self.settings
        argv = [self.binary, "--input-format", "stream-json", "--output-format", "stream-json",
                "--verbose", "--permission-prompt-tool", "stdio"]
        if s.permission_mode != "default":
            argv += ["--permission-mode", s.permission_mode]
        if s.model:
            argv += ["--model", s.model]
        for rule in s.allowed_tools:
            argv += ["--allowedTools", rule]
        for rule in s.disallowed_tools:
            argv += ["--disallowedTools", rule]
        if resume_session_id:
            argv += ["--resume", resume_session_id]
        return argv + list(s.extra_args)

    def environment(self) -> dict[str, str]:
        """The child's env, built not inherited (:mod:`coffee_maker.environment`).

        With ``auth = "subscription"`` ANTHROPIC_API_KEY is removed so the CLI uses its login;
        ``auth = "api_key"`` passes it (and ANTHROPIC_AUTH_TOKEN) from the daemon's environment.
        """
        return self.built_environment().env

    def built_environment(self) -> AgentEnvironment:
        s = self.settings
        built = build_environment(own=CLAUDE_OWN, credentials=CLAUDE_CREDENTIALS[s.auth], pass_env=s.pass_env,
                                  explicit={**s.env, **self.extra_env})
        if s.auth == "subscription" and "ANTHROPIC_API_KEY" in built.env:
            del built.env["ANTHROPIC_API_KEY"]
        return built

    # ------------------------------------------------------------------ the protocol
    def run(self, prompt: str, cwd: Path | str, *, on_event: EventCallback, decide: DecisionCallback,
            resume_session_id: str | None = None) -> SessionOutcome:
        from coffee_maker.agent._claude_session import ClaudeSession

        session = ClaudeSession(self, prompt, Path(cwd), on_event=on_event, decide=decide,
                                resume_session_id=resume_session_id)
        with self._lock:
            self._stop.clear()
            self._current = session
        try:
            return session.run(self._stop)
        finally:
            with self._lock:
                self._current = None

    def stop(self) -> None:
        """End the running session (interrupt, then SIGTERM/SIGKILL of its group)."""
        self._stop.set()
        session = self._current
        if session is not None:
            session.wake()


# ---------------------------------------------------------------------- decision → protocol
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


def control_response(request_id: str, response: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "control_response",
            "response": {"subtype": "success", "request_id": request_id, "response": dict(response)}}


def user_message(text: str, session_id: str | None = None) -> dict[str, Any]:
    return {"type": "user", "message": {"role": "user", "content": text},
            "parent_tool_use_id": None, "session_id": session_id or ""}
