"""The Claude Code backend the registry builds: the ``claude`` CLI driven headless over stream-json.

Why our own wrapper and not ``claude-agent-sdk``: see docs/tech_decisions/agent-backend.md
(sync fit, process-group kill, no 170 MB wheel). This module turns settings into a
:class:`~coffee_maker.agent.claude.session.Launch` and runs one session at a time; the
loop is :mod:`~coffee_maker.agent.claude.session`, the wire format
:mod:`~coffee_maker.agent.claude.protocol`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

from coffee_maker.agent.base import EventCallback, Limits, StopFlag
from coffee_maker.agent.claude.protocol import command_line
from coffee_maker.agent.claude.session import ClaudeSession, Launch
from coffee_maker.config.agent import AgentSettings
from coffee_maker.environment import (
    CLAUDE_CREDENTIALS,
    CLAUDE_OWN,
    AgentEnvironment,
    build_environment,
)
from coffee_maker.types import DecisionCallback, SessionOutcome


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
        self._current: ClaudeSession | None = None  # the running session, for stop()

    # ------------------------------------------------------------------ building the command
    def command(self, resume_session_id: str | None = None) -> list[str]:
        return command_line(self.binary, self.settings, resume_session_id)

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

    # ------------------------------------------------------------------ running
    def run(self, prompt: str, cwd: Path | str, *, on_event: EventCallback, decide: DecisionCallback,
            resume_session_id: str | None = None) -> SessionOutcome:
        launch = Launch(argv=self.command(resume_session_id), environment=self.built_environment(),
                        binary=self.binary, limits=self.limits, kill_grace_s=self.kill_grace_s)
        session = ClaudeSession(launch, prompt, Path(cwd), on_event=on_event, decide=decide,
                                resume_session_id=resume_session_id)
        with self._lock:
            self._current = session
        try:
            return session.run(self._stop)
        finally:
            with self._lock:
                self._current = None
                self._stop.clear()  # at the end, not the start: a stop before run() is for this run

    def stop(self) -> None:
        """End the running session (interrupt, then SIGTERM/SIGKILL of its group)."""
        self._stop.set()
        session = self._current
        if session is not None:
            session.wake()
