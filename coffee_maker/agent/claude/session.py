"""One running Claude Code process: start it, feed it turns, read its events, stop or resume it.

It knows nothing of settings (the backend hands it a :class:`Launch`) and reads and writes only
through :mod:`coffee_maker.agent.claude.protocol`. The loop waits on one queue (stdout lines,
decisions from the worker, wake-ups from ``stop``) with a short timeout, so time limits are
checked even when nothing happens. A pending decision pauses the idle clock: waiting for a
person is not the agent hanging.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any

import structlog

from coffee_maker.agent.base import EventCallback, Limits, SessionClock, StopFlag
from coffee_maker.agent.claude import protocol
from coffee_maker.agent.decisions import DecisionWorker, timeout_decision
from coffee_maker.agent.events import (
    ControlRequestEvent,
    DecisionEvent,
    InitEvent,
    PermissionDeniedEvent,
    ResultEvent,
    TextEvent,
    ToolUseEvent,
)
from coffee_maker.agent.outcomes import classify_error, final_question, is_limit_notice, parse_reset
from coffee_maker.agent.stream import AgentProcess
from coffee_maker.environment import AgentEnvironment
from coffee_maker.errors import AgentError
from coffee_maker.types import (
    Decision,
    DecisionCallback,
    DecisionKind,
    OutcomeKind,
    PermissionRequest,
    Question,
    SessionOutcome,
)

log = structlog.get_logger(__name__)
_FINAL = "final-question"
_POLL_S = 0.1


@dataclass(frozen=True, slots=True)
class Launch:
    """How to start the CLI: ``argv`` already names the session to resume, if any."""

    argv: Sequence[str]
    environment: AgentEnvironment
    binary: str
    limits: Limits
    kill_grace_s: float


class ClaudeSession:
    def __init__(self, launch: Launch, prompt: str, cwd: Path, *, on_event: EventCallback,
                 decide: DecisionCallback, resume_session_id: str | None) -> None:
        self.launch = launch
        self.prompt = prompt
        self.cwd = cwd
        self.on_event = on_event
        self.decide = decide
        self.clock = SessionClock(launch.limits)
        self.pending: dict[str, tuple[PermissionRequest | Question, Mapping[str, Any], float]] = {}
        self.message_ids: set[str] = set()
        self.session_id: str | None = resume_session_id
        self.model: str | None = None
        self.last_result: ResultEvent | None = None
        self.followups = 0
        self.turns = 0
        self.usage: dict[str, float] = {}
        self.json_lines = 0
        self.garbage: list[str] = []
        self.stopped: tuple[OutcomeKind, str] | None = None
        self.unanswered: tuple[OutcomeKind, str] | None = None
        self.proc: AgentProcess | None = None
        self.worker: DecisionWorker | None = None

    def wake(self) -> None:
        if self.proc is not None:
            self.proc.wake()

    # ------------------------------------------------------------------ main loop
    def run(self, stop: StopFlag) -> SessionOutcome:
        if not self.cwd.is_dir():
            raise AgentError(f"The agent's working directory does not exist: {self.cwd}")
        built = self.launch.environment
        log.debug("agent environment built", passed=sorted(built.env), withheld=list(built.withheld))
        self.proc = p = AgentProcess(self.launch.argv, cwd=self.cwd, env=built.env,
                                     what=f"Claude Code ({self.launch.binary})")
        self.worker = self._new_worker()
        try:
            p.send_json(protocol.user_message(self.prompt, self.session_id))
            ended = False
            while not ended:
                try:
                    kind, payload = p.inbox.get(timeout=_POLL_S)
                except Empty:
                    kind, payload = "tick", None
                if kind == "line":
                    self.clock.touch()
                    self._on_line(payload)
                elif kind == "decision":
                    self._on_decision(*payload)
                elif kind == "eof":
                    ended = True
                if stop.is_set() and self.stopped is None:
                    self._abort(OutcomeKind.INTERRUPTED, "stopped on request")
                    ended = True
                if not ended:
                    self._expire_decisions()
                    limit = self.clock.expired()
                    if limit is None and p.stdin_open:  # a finished session is not stopped for its cost
                        limit = self.clock.check_usage(self._turns(), self._cost())
                    if limit is not None:
                        self._abort(*limit)
                        ended = True
        finally:
            self.worker.close()
            if p.wait(2.0) is None:
                log.warning("agent did not exit after its session ended; killing its process group")
            p.kill_group(grace_s=self.launch.kill_grace_s)
        return self._outcome(p)

    def _turns(self) -> int:
        return max(len(self.message_ids), self.turns)

    def _note_result(self, result: ResultEvent) -> None:
        """num_turns and usage are per turn of the conversation (summed); cost is cumulative."""
        self.last_result = result
        self.session_id = result.session_id or self.session_id
        self.turns += result.num_turns
        for key, value in result.usage.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.usage[key] = self.usage.get(key, 0) + value

    def _cost(self) -> float:
        return self.last_result.cost_usd if self.last_result else 0.0

    # ------------------------------------------------------------------ lines
    def _on_line(self, raw: bytes) -> None:
        events = protocol.parse_line(raw)
        if events is None:
            text = raw.decode("utf-8", "replace").rstrip()
            if text:
                log.warning("agent printed a non-JSON line; skipped", line=text[:200])
                self.garbage.append(text)
            return
        self.json_lines += 1
        for event in events:
            if isinstance(event, ControlRequestEvent):
                self._on_control(event)
                continue
            if isinstance(event, TextEvent | ToolUseEvent) and event.message_id:
                self.message_ids.add(event.message_id)
            elif isinstance(event, ResultEvent):
                self._note_result(event)
            elif isinstance(event, InitEvent):
                self.session_id = event.session_id or self.session_id
                self.model = event.model
            self.on_event(event)
            if isinstance(event, ResultEvent):
                self._after_result(event)

    def _on_control(self, event: ControlRequestEvent) -> None:
        assert self.proc is not None
        if event.subtype != "can_use_tool":
            self.proc.send_json(protocol.control_error(event.request_id, event.subtype))
            return
        request = protocol.request_from(event.request)
        original = event.request.get("input")
        self.pending[event.request_id] = (request, original if isinstance(original, dict) else {},
                                          self._deadline())
        self.clock.pending = len(self.pending)
        self._submit(event.request_id, request)

    def _deadline(self) -> float:
        timeout = self.launch.limits.decision_timeout_s
        return time.monotonic() + timeout if timeout > 0 else float("inf")

    def _after_result(self, result: ResultEvent) -> None:
        assert self.proc is not None
        question = None if result.is_error else final_question(result.text)
        over = self.clock.check_usage(self._turns(), self._cost())
        if question and over is not None:
            self.unanswered = over  # the agent wanted to go on; the budget said no
        if question and self.followups < self.launch.limits.max_followups and over is None:
            request = Question(text=question, source="final_text", context={"session_id": self.session_id})
            self.pending[_FINAL] = (request, {}, self._deadline())
            self.clock.pending = len(self.pending)
            self._submit(_FINAL, request)
            return
        self.proc.close_stdin()  # nothing more to say: the CLI finishes and exits

    # ------------------------------------------------------------------ decisions
    def _on_decision(self, key: str, request: PermissionRequest | Question, decision: Decision) -> None:
        entry = self.pending.pop(key, None)
        self.clock.pending = len(self.pending)
        self.clock.touch()
        if entry is None:
            log.info("a decision arrived after its deadline; ignored", request=type(request).__name__)
            return
        self._answer(key, request, entry[1], decision)

    def _new_worker(self) -> DecisionWorker:
        inbox = self.proc.inbox if self.proc is not None else None
        assert inbox is not None
        return DecisionWorker(self.decide, lambda key, req, dec: inbox.put(("decision", (key, req, dec))))

    def _expire_decisions(self) -> None:
        now = time.monotonic()
        expired = [key for key, (_, _, deadline) in self.pending.items() if now >= deadline]
        for key in expired:
            request, original, _ = self.pending.pop(key)
            self.clock.pending = len(self.pending)
            self.clock.touch()
            self._answer(key, request, original, timeout_decision(request, self.launch.limits.decision_timeout_s))
        if expired:  # the worker may be stuck in that callback: give the others a fresh one
            assert self.worker is not None
            self.worker.close()
            self.worker = self._new_worker()
            for key, (request, _, _) in self.pending.items():
                self.worker.submit(key, request)

    def _answer(self, key: str, request: PermissionRequest | Question, original: Mapping[str, Any],
                decision: Decision) -> None:
        assert self.proc is not None
        self.on_event(DecisionEvent(request=request, decision=decision))
        if key == _FINAL:
            if decision.kind is DecisionKind.ANSWER and decision.answer:
                self.followups += 1
                self.proc.send_json(protocol.user_message(decision.answer, self.session_id))
            else:
                self.proc.close_stdin()
            return
        response = protocol.response_for(request, decision, original)
        self.proc.send_json(protocol.control_response(key, response))
        if response["behavior"] == "deny" and isinstance(request, PermissionRequest):
            self.on_event(PermissionDeniedEvent(tool=request.tool, message=str(response["message"]),
                                                tool_use_id=request.tool_use_id))

    # ------------------------------------------------------------------ ending
    def _abort(self, kind: OutcomeKind, reason: str) -> None:
        """Interrupt the turn, give the CLI a moment to report, then kill the group."""
        assert self.proc is not None
        self.stopped = (kind, reason)
        log.info("stopping the agent session", reason=reason)
        self.proc.send_json(protocol.interrupt_request(f"cm-interrupt-{time.monotonic_ns()}"))
        deadline = time.monotonic() + min(self.launch.kill_grace_s, 2.0)
        while time.monotonic() < deadline:
            try:
                kind_, payload = self.proc.inbox.get(timeout=max(0.01, deadline - time.monotonic()))
            except Empty:
                break
            if kind_ == "line":
                events = protocol.parse_line(payload) or []
                for event in events:
                    if isinstance(event, ResultEvent):
                        self._note_result(event)
                        self.on_event(event)
                        deadline = 0.0  # the turn ended; no need to wait longer
            elif kind_ == "eof":
                break
        self.proc.kill_group(grace_s=self.launch.kill_grace_s)

    def _outcome(self, p: AgentProcess) -> SessionOutcome:
        r = self.last_result
        common: dict[str, Any] = {
            "session_id": self.session_id, "cost_usd": r.cost_usd if r else 0.0,
            "num_turns": self._turns(), "usage": dict(self.usage),
            "duration_s": self.clock.elapsed(), "model": self.model, "final_text": r.text if r else "",
        }
        if self.stopped is not None:
            return SessionOutcome(kind=self.stopped[0], reason=self.stopped[1], is_error=True, **common)
        if r is None:
            code = p.returncode
            if self.json_lines == 0:
                said = (f"It printed this instead of stream-json:\n{chr(10).join(self.garbage[-5:])}\n"
                        if self.garbage else "")
                raise AgentError(f"Claude Code ({self.launch.binary}) exited with code {code} before starting "
                                 f"a session. {said}stderr:\n{p.stderr_tail() or '(empty)'}")
            return SessionOutcome(kind=OutcomeKind.ERROR, is_error=True, reason=(
                f"Claude Code exited with code {code} without a result. stderr: {p.stderr_tail(5) or '(empty)'}"),
                **common)
        if not r.is_error and is_limit_notice(r.text):
            return SessionOutcome(kind=OutcomeKind.USAGE_LIMIT, is_error=True, reason=r.text,
                                  reset_at=parse_reset(r.text), **common)
        if not r.is_error and self.unanswered is not None:
            return SessionOutcome(kind=self.unanswered[0], is_error=True, reason=self.unanswered[1], **common)
        if not r.is_error and r.subtype == "success":
            return SessionOutcome(kind=OutcomeKind.SUCCESS, reason="completed", **common)
        if r.subtype == "error_max_turns":
            return SessionOutcome(kind=OutcomeKind.LIMIT, is_error=True, reason="max turns (CLI)", **common)
        kind = classify_error(r.text, r.api_error_status) if r.text or r.api_error_status else OutcomeKind.ERROR
        reset = parse_reset(r.text) if kind in (OutcomeKind.USAGE_LIMIT, OutcomeKind.RATE_LIMIT) else None
        return SessionOutcome(kind=kind, is_error=True, reason=r.text or r.subtype, reset_at=reset, **common)

    def _submit(self, key: str, request: PermissionRequest | Question) -> None:
        assert self.worker is not None
        self.worker.submit(key, request)
