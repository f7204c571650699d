"""[agent] — which coding agent runs a priority, how it is started, and its limits.

``backend`` names the agent: ``claude`` (Claude Code, the default), ``scripted``
(the offline fake, for demos and tests), or any entry of ``[agent.cli.<name>]``.
``codex``, ``gemini`` and ``aider`` are built-in generic CLI entries; a
``[agent.cli.codex]`` table replaces the built-in one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class EventMapping(BaseModel):
    """How one kind of JSON line of a generic agent CLI becomes a typed event.

    ``when`` holds dotted paths and the values they must equal (``{"type": "item.completed",
    "item.type": "agent_message"}``); ``fields`` maps an event field to a dotted path
    (``{"text": "item.text"}``; ``"status==error"`` gives a boolean). ``values`` sets constant
    fields. The first mapping whose ``when`` matches wins; unmatched lines become raw events.
    """

    model_config = ConfigDict(extra="forbid")

    when: dict[str, str | int | bool] = Field(default_factory=dict)
    event: Literal["init", "assistant_text", "tool_use", "tool_result", "result", "error", "ignore"]
    fields: dict[str, str] = Field(default_factory=dict)
    values: dict[str, str | int | float | bool] = Field(default_factory=dict, description="Constant event fields.")


class CliAgentSettings(BaseModel):
    """A coding agent CLI the generic backend can drive (``[agent.cli.<name>]``).

    ``command`` and ``resume_command`` are argument lists; ``{prompt}``, ``{session_id}``,
    ``{model}`` and ``{cwd}`` are substituted. An argument that is exactly
    ``{model}`` is dropped together with the argument before it when no model is set.
    """

    model_config = ConfigDict(extra="forbid")

    command: list[str]
    resume_command: list[str] | None = Field(None, description="Command to continue a session; None: resume unsupported.")
    prompt_via: Literal["arg", "stdin"] = "arg"
    output: Literal["text", "jsonl", "json"] = "jsonl"
    events: list[EventMapping] = Field(default_factory=list)
    usage_limit_pattern: str | None = Field(None, description="Regex over output/stderr that means a usage limit.")
    rate_limit_pattern: str | None = Field(None, description="Regex over output/stderr that means a rate limit.")
    auth_failure_pattern: str | None = Field(None, description="Regex over output/stderr that means bad credentials.")
    env: dict[str, str] = Field(default_factory=dict)
    pass_env: list[str] = Field(default_factory=list, description=(
        "Variables of the daemon's environment this CLI needs (its API key, its settings): exact names pass "
        "as given; '*' patterns pass only names that do not look like credentials."))


class AgentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: str = Field("claude", description="claude | codex | gemini | aider | scripted | a [agent.cli.<name>] entry.")
    model: str | None = Field(None, description="Model name passed to the agent CLI (its default when unset).")
    idle_timeout_s: float = Field(600.0, description="Stop a session that prints nothing for this long.")
    total_timeout_s: float = Field(3600.0, description="Stop a session that runs longer than this.")
    max_turns: int = Field(200, description="Stop a session after this many model turns.")
    max_cost_usd: float = Field(10.0, description="Stop a session whose reported cost exceeds this.")
    decision_timeout_s: float = Field(900.0, description="Deny a permission request nobody decided within this time.")
    max_followups: int = Field(3, description="Answer at most this many questions a session ends with.")
    # ---- Claude Code
    binary: str = Field("claude", description="Path or name of the Claude Code CLI.")
    permission_mode: Literal["default", "manual", "acceptEdits", "plan", "bypassPermissions", "dontAsk", "auto"] = Field(
        "default", description="Claude Code --permission-mode; requests it does not settle reach the decision callback.")
    allowed_tools: list[str] = Field(default_factory=list, description="--allowedTools rules, e.g. 'Bash(pytest:*)'.")
    disallowed_tools: list[str] = Field(default_factory=list, description="--disallowedTools rules.")
    extra_args: list[str] = Field(default_factory=list, description="More CLI arguments, appended as given.")
    env: dict[str, str] = Field(default_factory=dict, description=(
        "Variables set for the agent process, as given. The agent does not inherit the daemon's environment: "
        "see pass_env."))
    pass_env: list[str] = Field(default_factory=list, description=(
        "Variables of the daemon's environment the agent (and the commands its tools run) may see, beyond "
        "PATH/HOME/locale/proxy basics and the CLI's own settings: exact names pass as given; '*' patterns "
        "(e.g. 'MYAPP_*') pass only names that do not look like credentials."))
    auth: Literal["subscription", "api_key"] = Field(
        "subscription", description="subscription: the CLI's own login (ANTHROPIC_API_KEY is removed); api_key: keep it.")
    # ---- other backends
    cli: dict[str, CliAgentSettings] = Field(default_factory=dict, description="Generic agent CLIs by name.")
    script: str | None = Field(None, description="Scripted backend: a JSON or TOML script file.")
