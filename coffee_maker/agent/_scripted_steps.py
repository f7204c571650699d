"""The interpreter behind :mod:`coffee_maker.agent.scripted` (step format documented there)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from coffee_maker import proc
from coffee_maker.agent.base import EventCallback, Limits, SessionClock, StopFlag
from coffee_maker.agent.decisions import decide_within
from coffee_maker.agent.events import (
    DecisionEvent,
    InitEvent,
    PermissionDeniedEvent,
    ResultEvent,
    TextEvent,
    ToolResultEvent,
    ToolUseEvent,
)
from coffee_maker.agent.outcomes import final_question, parse_reset
from coffee_maker.environment import git_stays_in
from coffee_maker.errors import AgentError, ProcessError
from coffee_maker.types import (
    DecisionCallback,
    DecisionKind,
    OutcomeKind,
    PermissionRequest,
    Question,
    SessionOutcome,
)

ACTIONS = ("say", "tool", "write", "edit", "run", "ask", "permission", "fail", "usage_limit", "hang", "sleep",
           "result")
_EXTRA_KEYS = {"cost", "turns", "ask_permission", "input", "result", "is_error", "content", "old", "new",
               "timeout", "options", "save_as", "branches", "allowed", "denied", "kind", "reset_at", "on_answer"}
_NESTED = ("branches", "allowed", "denied", "on_answer")
_FAIL_KINDS = {"error": OutcomeKind.ERROR, "auth_failed": OutcomeKind.AUTH_FAILED,
               "overloaded": OutcomeKind.OVERLOADED, "rate_limit": OutcomeKind.RATE_LIMIT}


def validate_steps(steps: Any) -> list[Mapping[str, Any]]:
    """Check every step has exactly one known action; nested step lists too."""
    if not isinstance(steps, list | tuple):
        raise AgentError("Script steps must be a list.")
    out: list[Mapping[str, Any]] = []
    for i, step in enumerate(steps, 1):
        if not isinstance(step, Mapping):
            raise AgentError(f"Script step {i} is not an object: {step!r}")
        actions = [k for k in step if k in ACTIONS and not (k == "result" and "tool" in step)]
        if len(actions) != 1:
            raise AgentError(f"Script step {i} needs exactly one action of {', '.join(ACTIONS)}; got {dict(step)!r}")
        unknown = set(step) - set(ACTIONS) - _EXTRA_KEYS
        if unknown:
            raise AgentError(f"Script step {i} has unknown keys: {', '.join(sorted(unknown))}")
        if step.get("fail") is not None and "kind" in step and step["kind"] not in _FAIL_KINDS:
            raise AgentError(f"Script step {i}: kind must be one of {', '.join(_FAIL_KINDS)}")
        for key in _NESTED:
            nested = step.get(key)
            if isinstance(nested, Mapping):
                for sub in nested.values():
                    validate_steps(sub)
            elif nested is not None:
                validate_steps(nested)
        out.append(step)
    return out


def reset_time(value: Any) -> datetime | None:
    """``reset_at`` of a usage_limit step: epoch seconds, ISO text, or ``"+<seconds>"``."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    text = str(value)
    if text.startswith("+"):
        return datetime.fromtimestamp(time.time() + float(text[1:]), UTC)
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class _End(Exception):
    """Raised by a step that ends the session."""

    def __init__(self, kind: OutcomeKind, reason: str, *, final_text: str = "",
                 reset_at: datetime | None = None) -> None:
        super().__init__(reason)
        self.kind, self.reason, self.final_text, self.reset_at = kind, reason, final_text, reset_at


class StepRunner:
    """Runs one scripted session."""

    def __init__(self, *, cwd: Path, on_event: EventCallback, decide: DecisionCallback, limits: Limits,
                 stop: StopFlag, answers: dict[str, str], step_delay_s: float, session_id: str,
                 model: str, env: Mapping[str, str]) -> None:
        self.cwd, self.on_event, self.decide, self.limits = cwd, on_event, decide, limits
        self.env = git_stays_in(cwd, env)  # built like a real agent's: commands never see the daemon's credentials
        self.stop, self.answers, self.step_delay_s = stop, answers, step_delay_s
        self.session_id, self.model = session_id, model
        self.clock = SessionClock(limits)
        self.cost = 0.0
        self.turns = 0
        self.last_text = ""
        self.followups = 0
        self._ids = 0

    def run_session(self, steps: Sequence[Mapping[str, Any]]) -> SessionOutcome:
        self.on_event(InitEvent(session_id=self.session_id, model=self.model, cwd=str(self.cwd)))
        try:
            self._steps(steps)
            raise _End(OutcomeKind.SUCCESS, "completed", final_text=self.last_text)
        except _End as end:
            is_error = end.kind is not OutcomeKind.SUCCESS
            turns = max(self.turns, 1)
            self.on_event(ResultEvent(session_id=self.session_id, subtype="success" if not is_error else end.kind.value,
                                      is_error=is_error, text=end.final_text or end.reason, cost_usd=self.cost,
                                      num_turns=turns, duration_ms=int(self.clock.elapsed() * 1000)))
            return SessionOutcome(kind=end.kind, session_id=self.session_id, cost_usd=self.cost, num_turns=turns,
                                  duration_s=self.clock.elapsed(), is_error=is_error, reason=end.reason,
                                  final_text=end.final_text, model=self.model, reset_at=end.reset_at)

    # ------------------------------------------------------------------ stepping
    def _steps(self, steps: Iterable[Mapping[str, Any]]) -> None:
        for step in steps:
            self._check()
            if self.step_delay_s:
                self._wait(self.step_delay_s)
            action = next(k for k in step if k in ACTIONS and not (k == "result" and "tool" in step))
            getattr(self, f"_do_{action}")(step)
            self.cost += float(step.get("cost", 0.0))
            self.turns += int(step.get("turns", 0))
            self.clock.touch()
            self._check()

    def _check(self) -> None:
        if self.stop.is_set():
            raise _End(OutcomeKind.INTERRUPTED, "stopped on request")
        limit = self.clock.expired() or self.clock.check_usage(self.turns, self.cost)
        if limit is not None:
            raise _End(*limit)

    def _wait(self, seconds: float | None) -> None:
        """Wait silently (output-free: counts toward the idle timeout)."""
        deadline = time.monotonic() + seconds if seconds is not None else float("inf")
        while time.monotonic() < deadline:
            self._check()
            self.stop.wait(min(0.02, max(0.0, deadline - time.monotonic())))

    def _next_id(self) -> str:
        self._ids += 1
        return f"toolu_scripted_{self._ids}"

    def _tool(self, step: Mapping[str, Any], name: str, tool_input: Mapping[str, Any], effect: Any) -> None:
        """Emit tool_use; ask permission when the step says so; run ``effect`` → tool_result."""
        use_id = self._next_id()
        self.on_event(ToolUseEvent(name=name, input=dict(tool_input), tool_use_id=use_id))
        if step.get("ask_permission"):
            request = PermissionRequest(tool=name, input=dict(tool_input), tool_use_id=use_id)
            decision = self._ask(request)
            if decision.kind is not DecisionKind.ALLOW:
                message = decision.message or f"Permission to use {name} was denied."
                self.on_event(PermissionDeniedEvent(tool=name, message=message, tool_use_id=use_id))
                self.on_event(ToolResultEvent(tool_use_id=use_id, content=message, is_error=True))
                return
        content, is_error = effect()
        self.on_event(ToolResultEvent(tool_use_id=use_id, content=content, is_error=is_error))

    def _ask(self, request: PermissionRequest | Question) -> Any:
        self.clock.pending += 1
        try:
            decision = decide_within(self.decide, request, self.limits.decision_timeout_s, self.stop)
        finally:
            self.clock.pending -= 1
            self.clock.touch()
        self.on_event(DecisionEvent(request=request, decision=decision))
        return decision

    def _path(self, rel: str) -> Path:
        path = (self.cwd / rel).resolve()
        if not path.is_relative_to(self.cwd.resolve()):
            raise AgentError(f"Script path escapes the working directory: {rel}")
        return path

    # ------------------------------------------------------------------ actions
    def _do_say(self, step: Mapping[str, Any]) -> None:
        self.last_text = str(step["say"])
        self.on_event(TextEvent(text=self.last_text))

    def _do_tool(self, step: Mapping[str, Any]) -> None:
        self._tool(step, str(step["tool"]), step.get("input", {}),
                   lambda: (str(step.get("result", "")), bool(step.get("is_error", False))))

    def _do_write(self, step: Mapping[str, Any]) -> None:
        path, content = self._path(str(step["write"])), str(step.get("content", ""))

        def effect() -> tuple[str, bool]:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
            return f"Wrote {path}", False

        self._tool(step, "Write", {"file_path": str(path), "content": content}, effect)

    def _do_edit(self, step: Mapping[str, Any]) -> None:
        path, old, new = self._path(str(step["edit"])), str(step.get("old", "")), str(step.get("new", ""))

        def effect() -> tuple[str, bool]:
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                return f"Cannot read {path}: {exc.strerror}", True
            if old not in text:
                return f"String to replace not found in {path}", True
            path.write_text(text.replace(old, new, 1), encoding="utf-8")
            return f"Edited {path}", False

        self._tool(step, "Edit", {"file_path": str(path), "old_string": old, "new_string": new}, effect)

    def _do_run(self, step: Mapping[str, Any]) -> None:
        command = str(step["run"])

        def effect() -> tuple[str, bool]:
            try:
                done = proc.run(command, cwd=self.cwd, env=self.env, shell=True, timeout=float(step.get("timeout", 600)),
                                should_stop=self.stop.is_set)
            except ProcessError as exc:
                return exc.message, True
            return (done.stdout + done.stderr).strip() or f"(exit code {done.returncode})", not done.ok

        self._tool(step, "Bash", {"command": command}, effect)

    def _do_ask(self, step: Mapping[str, Any]) -> None:
        question = Question(text=str(step["ask"]), options=tuple(str(o) for o in step.get("options", ())),
                            source="ask_user_question")
        decision = self._ask(question)
        answer = decision.answer if decision.kind is DecisionKind.ANSWER else None
        self.answers[str(step.get("save_as", step["ask"]))] = answer or ""
        self._branch(step.get("branches") or {}, answer)

    def _branch(self, branches: Mapping[str, Any], answer: str | None) -> None:
        wanted = (answer or "").strip().lower()
        for key, steps in branches.items():
            if key != "*" and key.strip().lower() == wanted:
                self._steps(steps)
                return
        if "*" in branches:
            self._steps(branches["*"])

    def _do_permission(self, step: Mapping[str, Any]) -> None:
        request = PermissionRequest(tool=str(step["permission"]), input=dict(step.get("input", {})),
                                    tool_use_id=self._next_id())
        decision = self._ask(request)
        if decision.kind is DecisionKind.ALLOW:
            self._steps(step.get("allowed", ()))
        else:
            self.on_event(PermissionDeniedEvent(tool=request.tool, message=decision.message or "",
                                                tool_use_id=request.tool_use_id))
            self._steps(step.get("denied", ()))

    def _do_fail(self, step: Mapping[str, Any]) -> None:
        raise _End(_FAIL_KINDS[str(step.get("kind", "error"))], str(step["fail"]))

    def _do_usage_limit(self, step: Mapping[str, Any]) -> None:
        message = str(step["usage_limit"])
        reset = reset_time(step.get("reset_at")) or parse_reset(message)
        raise _End(OutcomeKind.USAGE_LIMIT, message, reset_at=reset)

    def _do_hang(self, step: Mapping[str, Any]) -> None:
        value = step["hang"]
        self._wait(None if value is True else float(value))

    def _do_sleep(self, step: Mapping[str, Any]) -> None:
        self._wait(float(step["sleep"]))

    def _do_result(self, step: Mapping[str, Any]) -> None:
        text = str(step["result"])
        self.last_text = text
        self.on_event(TextEvent(text=text))
        question = final_question(text)
        if question and self.followups < self.limits.max_followups:
            decision = self._ask(Question(text=question, source="final_text",
                                          context={"session_id": self.session_id}))
            if decision.kind is DecisionKind.ANSWER and decision.answer:
                self.followups += 1
                self.answers[question] = decision.answer
                self._steps(step.get("on_answer", ()))
                raise _End(OutcomeKind.SUCCESS, "completed", final_text=self.last_text)
        raise _End(OutcomeKind.SUCCESS, "completed", final_text=text)
