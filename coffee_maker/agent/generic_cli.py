"""The generic CLI backend: any headless coding-agent CLI described in configuration.

Why: Claude Code is the first agent, not the only one. A ``[agent.cli.<name>]`` entry
(see :class:`coffee_maker.config.agent.CliAgentSettings`) says how to start the tool,
how to pass the prompt (argument or stdin), how to read its output (plain text, JSON
lines with a mapping to typed events, or one JSON document) and how to resume.

These CLIs run in their own auto-approve modes, so no permission requests reach the
decision callback; a final text that ends by asking is still answered through it, by
resuming the session with the answer as the next prompt (when the CLI can resume).
Usage/rate-limit/auth failures are recognised with the entry's regexes over the
output and stderr, then the shared classifier.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from queue import Empty
from typing import Any

import structlog

from coffee_maker.agent.base import EventCallback, Limits, SessionClock, StopFlag
from coffee_maker.agent.cli_presets import PRESETS, map_object
from coffee_maker.agent.decisions import decide_within
from coffee_maker.agent.events import (
    AgentEvent,
    DecisionEvent,
    InitEvent,
    RawEvent,
    ResultEvent,
    TextEvent,
)
from coffee_maker.agent.outcomes import classify_error, final_question, parse_reset
from coffee_maker.agent.stream import AgentProcess
from coffee_maker.config.agent import AgentSettings, CliAgentSettings
from coffee_maker.environment import build_environment
from coffee_maker.errors import AgentError
from coffee_maker.types import DecisionCallback, DecisionKind, OutcomeKind, Question, SessionOutcome

log = structlog.get_logger(__name__)


def cli_spec(name: str, settings: AgentSettings | None = None) -> CliAgentSettings:
    """The entry for ``name``: the configured ``[agent.cli.<name>]`` or a built-in preset."""
    if settings is not None and name in settings.cli:
        return settings.cli[name]
    if name in PRESETS:
        return PRESETS[name]
    known = sorted({*PRESETS, *(settings.cli if settings else {})})
    raise AgentError(f"Unknown agent CLI {name!r}. Known: {', '.join(known)}; or add an [agent.cli.{name}] table.")


def build_argv(template: list[str], *, prompt: str, session_id: str | None, model: str | None,
               cwd: Path, binary: str | None = None) -> list[str]:
    """Substitute ``{prompt}``, ``{session_id}``, ``{model}``, ``{cwd}``; drop ``-m {model}`` without a model."""
    argv: list[str] = []
    for arg in template:
        if arg == "{model}" and not model:
            if argv:
                argv.pop()
            continue
        argv.append(arg.replace("{prompt}", prompt).replace("{session_id}", session_id or "")
                    .replace("{model}", model or "").replace("{cwd}", str(cwd)))
    if binary and argv:
        argv[0] = binary
    return argv


class GenericCliBackend:
    """Runs one configured agent CLI per session; ``stop`` is thread-safe."""

    def __init__(self, name: str, spec: CliAgentSettings | None = None, *, settings: AgentSettings | None = None,
                 binary: str | None = None, limits: Limits | None = None, env: Mapping[str, str] | None = None,
                 kill_grace_s: float = 3.0) -> None:
        self.name = name
        self.settings = settings or AgentSettings.model_validate({"backend": name})
        self.spec = spec or cli_spec(name, self.settings)
        self.binary = binary
        self.limits = limits or Limits.from_settings(self.settings)
        self.env = {**self.settings.env, **self.spec.env, **(env or {})}
        self.kill_grace_s = kill_grace_s
        self._stop = StopFlag()
        self._proc: AgentProcess | None = None

    def environment(self) -> dict[str, str]:
        """Built, not inherited: the basics, the CLI's ``pass_env``, the person's ``pass_env`` and ``env``."""
        return build_environment(pass_env=[*self.spec.pass_env, *self.settings.pass_env], explicit=self.env).env

    def stop(self) -> None:
        self._stop.set()
        current = self._proc
        if current is not None:
            current.wake()

    def run(self, prompt: str, cwd: Path | str, *, on_event: EventCallback, decide: DecisionCallback,
            resume_session_id: str | None = None) -> SessionOutcome:
        try:
            return self._run(prompt, Path(cwd), on_event, decide, resume_session_id)
        finally:
            self._stop.clear()  # at the end, not the start: a stop before run() is for this run

    def _run(self, prompt: str, cwd: Path, on_event: EventCallback, decide: DecisionCallback,
             resume_session_id: str | None) -> SessionOutcome:
        clock = SessionClock(self.limits)
        session_id, total_cost, turns = resume_session_id, 0.0, 0
        for followup in range(self.limits.max_followups + 1):
            outcome = self._one(prompt, cwd, on_event, clock, session_id)
            session_id = outcome.session_id or session_id
            total_cost += outcome.cost_usd
            turns += outcome.num_turns
            question = final_question(outcome.final_text) if outcome.ok else None
            if not question or followup == self.limits.max_followups or not self.spec.resume_command:
                break
            request = Question(text=question, source="final_text", context={"session_id": session_id})
            clock.pending += 1
            decision = decide_within(decide, request, self.limits.decision_timeout_s, self._stop)
            clock.pending -= 1
            clock.touch()
            on_event(DecisionEvent(request=request, decision=decision))
            if decision.kind is not DecisionKind.ANSWER or not decision.answer:
                break
            prompt, session_id = decision.answer, session_id or "last"
        from dataclasses import replace

        return replace(outcome, cost_usd=total_cost, num_turns=turns, duration_s=clock.elapsed())

    # ------------------------------------------------------------------ one process
    def _one(self, prompt: str, cwd: Path, on_event: EventCallback, clock: SessionClock,
             session_id: str | None) -> SessionOutcome:
        spec = self.spec
        template = spec.resume_command if session_id and spec.resume_command else spec.command
        argv = build_argv(template, prompt=prompt, session_id=session_id, model=self.settings.model, cwd=cwd,
                          binary=self.binary)
        stdin = prompt.encode() if spec.prompt_via == "stdin" else None
        self._proc = p = AgentProcess(argv, cwd=cwd, env=self.environment(), what=f"{self.name} ({argv[0]})",
                                      stdin_data=stdin if stdin is not None else b"")
        state = _State(session_id)
        stopped: tuple[OutcomeKind, str] | None = None
        try:
            while True:
                try:
                    kind, payload = p.inbox.get(timeout=0.1)
                except Empty:
                    kind, payload = "tick", None
                if kind == "line":
                    clock.touch()
                    self._line(payload, state, on_event)
                elif kind == "eof":
                    break
                if self._stop.is_set():
                    stopped = (OutcomeKind.INTERRUPTED, "stopped on request")
                else:
                    stopped = clock.expired() or clock.check_usage(state.turns, state.cost)
                if stopped:
                    break
        finally:
            if stopped is None:
                p.wait(5.0)
            p.kill_group(grace_s=self.kill_grace_s)
            self._proc = None
        if spec.output == "json" and state.buffer:
            self._document("".join(state.buffer), state, on_event)
        return self._outcome(p, state, stopped, clock)

    def _line(self, raw: bytes, state: _State, on_event: EventCallback) -> None:
        text = raw.decode("utf-8", "replace").rstrip("\r\n")
        state.output.append(text)
        if self.spec.output == "json":
            state.buffer.append(text)
            return
        if self.spec.output == "text":
            if text.strip():
                self._emit(TextEvent(text=text), state, on_event)
            else:
                state.text.append("")  # keeps paragraphs, for the final-question check
            return
        try:
            obj = json.loads(text)
        except ValueError:
            if text.strip():
                log.warning("agent printed a non-JSON line; skipped", agent=self.name, line=text[:200])
            return
        if isinstance(obj, dict):
            self._mapped(obj, state, on_event)

    def _document(self, text: str, state: _State, on_event: EventCallback) -> None:
        try:
            obj = json.loads(text)
        except ValueError:
            log.warning("agent output is not one JSON document", agent=self.name)
            return
        if isinstance(obj, dict):
            self._mapped(obj, state, on_event)

    def _mapped(self, obj: Mapping[str, Any], state: _State, on_event: EventCallback) -> None:
        state.json_lines += 1
        event = map_object(obj, self.spec.events) if self.spec.events else RawEvent(
            kind=str(obj.get("type", "json")), data=obj, raw=obj)
        if isinstance(event, str):
            state.errors.append(event)
            on_event(RawEvent(kind="error", data={"message": event}, raw=obj))
        elif event is not None:
            self._emit(event, state, on_event)

    def _emit(self, event: AgentEvent, state: _State, on_event: EventCallback) -> None:
        if isinstance(event, InitEvent) and event.session_id:
            state.session_id = event.session_id
        elif isinstance(event, TextEvent):
            state.text.append(event.text)
        elif isinstance(event, ResultEvent):
            state.result = event
            state.session_id = event.session_id or state.session_id
            state.turns += max(event.num_turns, 1)
            state.cost += event.cost_usd
        else:
            if event.type in ("tool_use", "tool_result"):
                state.text.clear()  # the final text is what follows the last tool call
        on_event(event)

    def _outcome(self, p: AgentProcess, state: _State, stopped: tuple[OutcomeKind, str] | None,
                 clock: SessionClock) -> SessionOutcome:
        final = ("\n" if self.spec.output == "text" else "").join(state.text).strip()
        if not final and state.result is not None and not state.result.is_error:
            final = state.result.text
        common: dict[str, Any] = {"session_id": state.session_id, "cost_usd": state.cost,
                                  "num_turns": max(state.turns, 1), "duration_s": clock.elapsed(),
                                  "model": self.settings.model, "final_text": final,
                                  "usage": dict(state.result.usage) if state.result else {}}
        if stopped is not None:
            return SessionOutcome(kind=stopped[0], reason=stopped[1], is_error=True, **common)
        code = p.returncode
        failed = bool(code) or bool(state.errors) or bool(state.result and state.result.is_error)
        if not failed:
            return SessionOutcome(kind=OutcomeKind.SUCCESS, reason="completed", **common)
        text = "\n".join([*state.errors, state.result.text if state.result else "", *state.output[-20:],
                          p.stderr_tail()])
        kind = self._classify(text)
        if kind is OutcomeKind.ERROR and not state.output and code:
            raise AgentError(f"{self.name} ({p.argv[0]}) exited with code {code} and printed nothing. "
                             f"stderr:\n{p.stderr_tail() or '(empty)'}")
        reason = (state.errors[-1] if state.errors else (state.result.text if state.result and state.result.text
                  else f"{self.name} exited with code {code}: {p.stderr_tail(5)}")).strip()
        reset = parse_reset(text) if kind in (OutcomeKind.USAGE_LIMIT, OutcomeKind.RATE_LIMIT) else None
        return SessionOutcome(kind=kind, reason=reason, is_error=True, reset_at=reset, **common)

    def _classify(self, text: str) -> OutcomeKind:
        for pattern, kind in ((self.spec.auth_failure_pattern, OutcomeKind.AUTH_FAILED),
                              (self.spec.usage_limit_pattern, OutcomeKind.USAGE_LIMIT),
                              (self.spec.rate_limit_pattern, OutcomeKind.RATE_LIMIT)):
            if pattern and re.search(pattern, text, re.IGNORECASE):
                return kind
        return classify_error(text)


class _State:
    """What one process of a generic CLI said."""

    def __init__(self, session_id: str | None) -> None:
        self.session_id = session_id
        self.output: list[str] = []
        self.buffer: list[str] = []
        self.text: list[str] = []
        self.errors: list[str] = []
        self.result: ResultEvent | None = None
        self.turns = 0
        self.cost = 0.0
        self.json_lines = 0
