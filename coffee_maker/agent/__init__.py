"""Agent sessions: one protocol (:class:`AgentBackend`) over Claude Code, generic CLIs and a scripted fake.

``backend.run(prompt, cwd, on_event=…, decide=…, resume_session_id=None) -> SessionOutcome``
streams typed events (:mod:`coffee_maker.agent.events`) and asks ``decide`` about
permission requests and questions; ``backend.stop()`` ends it from any thread.
"""

from coffee_maker.agent.base import AgentBackend, EventCallback, Limits
from coffee_maker.agent.claude import ClaudeCodeBackend
from coffee_maker.agent.events import (
    AgentEvent,
    DecisionEvent,
    InitEvent,
    PermissionDeniedEvent,
    RawEvent,
    ResultEvent,
    TextEvent,
    ToolResultEvent,
    ToolUseEvent,
)
from coffee_maker.agent.generic_cli import GenericCliBackend
from coffee_maker.agent.registry import create_backend
from coffee_maker.agent.scripted import Script, ScriptedBackend, load_script

__all__ = [
    "AgentBackend", "AgentEvent", "ClaudeCodeBackend", "DecisionEvent", "EventCallback", "GenericCliBackend",
    "InitEvent", "Limits", "PermissionDeniedEvent", "RawEvent", "ResultEvent", "Script", "ScriptedBackend",
    "TextEvent", "ToolResultEvent", "ToolUseEvent", "create_backend", "load_script",
]
