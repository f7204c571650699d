"""Can the agent CLI authenticate — and the one sentence that tells a person how to fix it when not.

Why one place: ``doctor``, the daemon's notice and ``agent run`` must say the same
thing. The case that confused people: ``ANTHROPIC_API_KEY`` is exported, the CLI has
no login, and the default ``[agent] auth = "subscription"`` removes the key from the
agent's environment — so the CLI says "Not logged in" although a key is set.

The login check asks the real CLI (``claude auth status``, JSON, works offline) with
the environment the daemon will give it, so it sees what the agent will see.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from coffee_maker import proc
from coffee_maker.agent.claude import ClaudeCodeBackend
from coffee_maker.config.agent import AgentSettings
from coffee_maker.errors import ProcessError

_KEEP_KEY = 'set [agent] auth = "api_key" in coffee_maker.toml'


@dataclass(frozen=True)
class LoginStatus:
    """What ``claude auth status`` said; ``logged_in`` is None when it could not be asked."""

    logged_in: bool | None
    method: str = ""
    detail: str = ""


def claude_login_status(settings: AgentSettings, *, binary: str | None = None) -> LoginStatus:
    """Ask the CLI whether it can authenticate, in the environment the agent will have."""
    agent = ClaudeCodeBackend(settings, binary=binary)
    try:
        result = proc.run([agent.binary, "auth", "status"], env=agent.environment(), timeout=30)
    except ProcessError as exc:
        return LoginStatus(None, detail=exc.message)
    try:
        data = json.loads(result.stdout)
    except ValueError:
        return LoginStatus(None, detail=proc.tail(result.stderr or result.stdout, 2) or f"exit code {result.returncode}")
    if not isinstance(data, dict):
        return LoginStatus(None, detail="unexpected output from `claude auth status`")
    method = str(data.get("authMethod") or "")
    source = data.get("apiKeySource")
    detail = method + (f" ({source})" if source else "")
    return LoginStatus(bool(data.get("loggedIn")), method, detail)


def api_key_removed(settings: AgentSettings, environ: Mapping[str, str] | None = None) -> bool:
    """ANTHROPIC_API_KEY is set, but ``auth = "subscription"`` keeps it from the agent."""
    environ = os.environ if environ is None else environ
    return settings.auth == "subscription" and bool(environ.get("ANTHROPIC_API_KEY")
                                                    or settings.env.get("ANTHROPIC_API_KEY"))


def auth_advice(settings: AgentSettings, environ: Mapping[str, str] | None = None, *,
                backend: str | None = None) -> str:
    """Why the agent cannot authenticate (when we know) and what to do, in one or two sentences."""
    name = backend or settings.backend
    if name == "claude" and api_key_removed(settings, environ):
        return ('ANTHROPIC_API_KEY is set, but [agent] auth = "subscription" (the default) removes it from the '
                "agent's environment so the CLI uses its own login, and the CLI is not logged in. "
                + auth_fix(settings, environ, backend=name))
    return auth_fix(settings, environ, backend=name)


def auth_fix(settings: AgentSettings, environ: Mapping[str, str] | None = None, *,
             backend: str | None = None) -> str:
    """Only what to do (for a table column that already states the problem)."""
    name = backend or settings.backend
    if name != "claude":
        return (f"Log in to the {name} CLI or export its API key; the agent sees only the basics, its CLI's "
                "pass_env and the variables named in [agent] pass_env.")
    if api_key_removed(settings, environ):
        return f"To use the key, {_KEEP_KEY}; or log in with `claude` (or `claude setup-token`)."
    if settings.auth == "api_key":
        return ('With [agent] auth = "api_key" the CLI uses ANTHROPIC_API_KEY: export a valid key, or set '
                'auth = "subscription" and log in with `claude`.')
    return f"Log in with `claude` (or `claude setup-token`), or export ANTHROPIC_API_KEY and {_KEEP_KEY}."
