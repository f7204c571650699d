"""Which backend a configuration names: the explicit, typed registry of agent backends."""

from __future__ import annotations

from collections.abc import Mapping

from coffee_maker.agent.base import AgentBackend, Limits
from coffee_maker.agent.claude import ClaudeCodeBackend
from coffee_maker.agent.generic_cli import GenericCliBackend, cli_spec
from coffee_maker.agent.scripted import ScriptedBackend
from coffee_maker.config.agent import AgentSettings
from coffee_maker.environment import AgentEnvironment, build_environment
from coffee_maker.errors import AgentError


def create_backend(settings: AgentSettings, *, name: str | None = None, binary: str | None = None,
                   env: Mapping[str, str] | None = None, limits: Limits | None = None) -> AgentBackend:
    """The backend ``name`` (default ``settings.backend``), built from ``settings``."""
    name = name or settings.backend
    limits = limits or Limits.from_settings(settings)
    if name == "claude":
        return ClaudeCodeBackend(settings, binary=binary, env=env, limits=limits)
    if name == "scripted":
        if not settings.script:
            raise AgentError("The scripted backend needs a script: set [agent] script = \"path/to/script.json\".")
        return ScriptedBackend(settings.script, limits=limits, settings=settings)
    return GenericCliBackend(name, cli_spec(name, settings), settings=settings, binary=binary, env=env,
                             limits=limits)


def environment_for(settings: AgentSettings, *, name: str | None = None) -> AgentEnvironment:
    """The environment the configured agent would get now, and what it would not (for ``doctor``)."""
    name = name or settings.backend
    if name == "claude":
        return ClaudeCodeBackend(settings).built_environment()
    if name == "scripted":
        return build_environment(pass_env=settings.pass_env, explicit=settings.env)
    spec = cli_spec(name, settings)
    return build_environment(pass_env=[*spec.pass_env, *settings.pass_env], explicit={**settings.env, **spec.env})
