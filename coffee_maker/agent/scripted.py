"""The scripted agent: a deterministic, offline backend that replays a script.

Why it ships in the package: the demo and most daemon tests need an agent that edits
files, runs commands, asks questions and hits limits — the same seams as Claude Code
(events, the decision callback, :class:`SessionOutcome`) — without a model or network.

Script format (JSON, TOML, or Python dicts)
-------------------------------------------
A script is a list of steps, or an object ``{"session_id": "…", "model": "…",
"steps": [...], "resume_steps": [...]}`` (``resume_steps`` replace ``steps`` when
``run`` gets a ``resume_session_id``). TOML: top-level keys plus ``[[steps]]`` tables.
Each step is an object with exactly one *action* key; paths are relative to ``cwd``.

====================  ==========================================================
step                  effect
====================  ==========================================================
``say``               ``{"say": "text"}`` → an ``assistant_text`` event
``tool``              ``{"tool": "Read", "input": {…}, "result": "…", "is_error": false}``
                      → ``tool_use`` + ``tool_result`` events, no effect
``write``             ``{"write": "src/a.py", "content": "…"}`` creates/overwrites a file
``edit``              ``{"edit": "a.py", "old": "x", "new": "y"}`` replaces the first
                      ``old``; a missing ``old`` gives an error tool result
``run``               ``{"run": "pytest -q", "timeout": 60}`` runs a shell command in
                      ``cwd`` through :func:`coffee_maker.proc.run` (``Bash`` events)
``ask``               ``{"ask": "Which DB?", "options": ["SQLite", "Postgres"],
                      "save_as": "db", "branches": {"sqlite": [steps…], "*": [steps…]}}``
                      asks the decision callback a :class:`Question`; the answer is
                      recorded (``backend.runs[-1].answers``) and the branch whose key
                      equals the answer (case-insensitive; ``*`` otherwise) runs next
``permission``        ``{"permission": "Bash", "input": {…}, "allowed": [steps…],
                      "denied": [steps…]}`` asks the callback a :class:`PermissionRequest`
``fail``              ``{"fail": "message", "kind": "error"}`` ends the session; ``kind``:
                      error · auth_failed · overloaded · rate_limit
``usage_limit``       ``{"usage_limit": "5-hour limit reached", "reset_at": 1767225600}``
                      ends with ``usage_limit``; ``reset_at``: epoch, ISO text or
                      ``"+3600"`` (seconds from now); else parsed from the message
``hang``              ``{"hang": true}`` waits until ``stop()`` or a time limit;
                      ``{"hang": 2.5}`` waits that long (silently) and goes on
``sleep``             ``{"sleep": 0.1}`` waits, then goes on
``result``            ``{"result": "Done.", "on_answer": [steps…]}`` ends with success and
                      this final text. A final text that ends by asking (``?``) goes to
                      the callback; with an answer, ``on_answer`` runs (at most
                      ``max_followups`` times)
====================  ==========================================================

Any step may also carry ``"cost": 0.02`` and ``"turns": 1`` (added to the outcome;
``max_cost_usd``/``max_turns`` are enforced after each step), and effect steps
(``tool``/``write``/``edit``/``run``) may carry ``"ask_permission": true``: the
callback is asked first and a denial skips the effect (a ``permission_denied`` event
and an error tool result instead). Without a ``result`` step the session succeeds
with the last ``say`` text.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coffee_maker.agent._scripted_steps import ACTIONS, StepRunner, validate_steps
from coffee_maker.agent.base import EventCallback, Limits, StopFlag
from coffee_maker.config.agent import AgentSettings
from coffee_maker.environment import build_environment
from coffee_maker.errors import AgentError
from coffee_maker.types import DecisionCallback, SessionOutcome

__all__ = ["ACTIONS", "RunRecord", "Script", "ScriptedBackend", "load_script"]


@dataclass(frozen=True)
class Script:
    """A validated script: steps, the steps for a resumed session, and its identity."""

    steps: tuple[Mapping[str, Any], ...]
    resume_steps: tuple[Mapping[str, Any], ...] | None = None
    session_id: str = "scripted-session"
    model: str = "scripted"

    @classmethod
    def from_obj(cls, obj: Any) -> Script:
        if isinstance(obj, Script):
            return obj
        if isinstance(obj, list | tuple):
            obj = {"steps": list(obj)}
        if not isinstance(obj, Mapping) or not isinstance(obj.get("steps"), list | tuple):
            raise AgentError("A script is a list of steps or an object with a 'steps' list.")
        unknown = set(obj) - {"steps", "resume_steps", "session_id", "model"}
        if unknown:
            raise AgentError(f"Unknown script keys: {', '.join(sorted(unknown))}.")
        resume = obj.get("resume_steps")
        return cls(steps=tuple(validate_steps(obj["steps"])),
                   resume_steps=tuple(validate_steps(resume)) if resume is not None else None,
                   session_id=str(obj.get("session_id", "scripted-session")), model=str(obj.get("model", "scripted")))


def load_script(path: str | Path) -> Script:
    """A script from a ``.json`` or ``.toml`` file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data: Any = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except OSError as exc:
        raise AgentError(f"Cannot read the agent script {path}: {exc.strerror}.") from exc
    except ValueError as exc:
        raise AgentError(f"The agent script {path} is not valid {path.suffix.lstrip('.') or 'JSON'}: {exc}") from exc
    return Script.from_obj(data)


@dataclass
class RunRecord:
    """What one ``run`` was given and asked — for tests to assert on."""

    prompt: str
    cwd: Path
    resume_session_id: str | None
    answers: dict[str, str] = field(default_factory=dict)
    outcome: SessionOutcome | None = None


class ScriptedBackend:
    """Replays scripts. Each ``run`` takes the next script of the list; the last repeats."""

    name = "scripted"

    def __init__(self, scripts: Script | Sequence[Any] | Mapping[str, Any] | str | Path, *,
                 limits: Limits | None = None, step_delay_s: float = 0.0,
                 settings: AgentSettings | None = None) -> None:
        if isinstance(scripts, str | Path):
            self._scripts = [load_script(scripts)]
        elif isinstance(scripts, Script | Mapping):
            self._scripts = [Script.from_obj(scripts)]
        elif scripts and all(isinstance(s, Mapping) and ("steps" not in s) for s in scripts):
            self._scripts = [Script.from_obj(list(scripts))]  # one script given as a list of steps
        else:
            self._scripts = [Script.from_obj(s) for s in scripts]
        if not self._scripts:
            raise AgentError("The scripted backend needs at least one script.")
        self.limits = limits or Limits()
        self.settings = settings or AgentSettings.model_validate({"backend": "scripted"})
        self.step_delay_s = step_delay_s
        self.runs: list[RunRecord] = []
        self._stop = StopFlag()
        self._index = 0

    def run(self, prompt: str, cwd: Path | str, *, on_event: EventCallback, decide: DecisionCallback,
            resume_session_id: str | None = None) -> SessionOutcome:
        script = self._scripts[min(self._index, len(self._scripts) - 1)]
        self._index += 1
        record = RunRecord(prompt=prompt, cwd=Path(cwd), resume_session_id=resume_session_id)
        self.runs.append(record)
        steps = script.resume_steps if resume_session_id and script.resume_steps is not None else script.steps
        runner = StepRunner(cwd=Path(cwd), on_event=on_event, decide=decide, limits=self.limits,
                            stop=self._stop, answers=record.answers, step_delay_s=self.step_delay_s,
                            session_id=resume_session_id or script.session_id, model=script.model,
                            env=build_environment(pass_env=self.settings.pass_env, explicit=self.settings.env).env)
        try:
            record.outcome = runner.run_session(steps)
        finally:
            self._stop.clear()  # at the end, not the start: a stop before run() is for this run
        return record.outcome

    def stop(self) -> None:
        self._stop.set()

