"""The agent's part of an attempt: which prompt a session starts from, and one session run to its end.

``AttemptRunner`` (``daemon/attempt.py``) owns the steps around it — branch, gate, commit, push, PR —
and asks this for each agent session: the first of an attempt, a resumed one after a crash, and each gate
fix round. A session's decisions go through the broker (``Services.decide_factory``) and are noted in the
attempt's record; its session id is stored the moment the CLI names it, so a crash resumes it; its cost
counts against the budgets; and any end but success leaves the attempt through ``AttemptExit``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from coffee_maker.agent.base import AgentBackend
from coffee_maker.agent.events import InitEvent, TextEvent, ToolUseEvent
from coffee_maker.agent.outcomes import session_not_found
from coffee_maker.config import Config
from coffee_maker.daemon.exits import AttemptExit, AuthFailed, Failed, Paused
from coffee_maker.daemon.prompt import build_feedback_prompt, build_prompt
from coffee_maker.daemon.record import AttemptRecord, describe_tool_input
from coffee_maker.daemon.services import Services
from coffee_maker.daemon.state import Phase, PriorityState, StateStore
from coffee_maker.interaction.facts import Facts
from coffee_maker.observe.tracing import AttemptTrace
from coffee_maker.types import Decision, OutcomeKind, Priority, Request, Workspace

log = structlog.get_logger(__name__)


@dataclass
class AttemptContext:
    """What the steps of one attempt share."""

    priority: Priority
    state: PriorityState
    ws: Workspace
    record: AttemptRecord
    facts: Facts
    trace: AttemptTrace
    feedback: str | None = None


class AgentSessions:
    def __init__(self, cfg: Config, services: Services, store: StateStore, *, guidelines: list[tuple[str, str]],
                 backend: str | None, before_session: Callable[[str], float | None],
                 on_progress: Callable[..., None], on_agent: Callable[[AgentBackend | None], None]) -> None:
        self.cfg, self.s, self.store = cfg, services, store
        self.guidelines = guidelines
        #: None = the configured backend, else a fallback's name.
        self.backend = backend
        self.before_session = before_session
        self.on_progress = on_progress
        self.on_agent = on_agent

    @property
    def backend_name(self) -> str:
        return self.backend or self.cfg.agent.backend

    # ------------------------------------------------------------------ prompts

    def first_prompt(self, ctx: AttemptContext) -> str | None:
        """The attempt's first prompt: the feedback, a "continue" after a crash mid-session, or the whole task
        (None: it crashed during validation — validate again before asking the agent anything)."""
        test_command = self.cfg.git.test_command
        if ctx.feedback is not None:
            return build_feedback_prompt(ctx.priority, feedback=ctx.feedback, test_command=test_command)
        if ctx.state.phase is Phase.VALIDATING:
            return None
        if ctx.state.phase is Phase.AGENT_RUNNING and ctx.state.session_id:
            return build_feedback_prompt(
                ctx.priority, test_command=test_command,
                feedback="The previous session was interrupted. Continue where you stopped and finish the work.")
        return self.full_prompt(ctx)

    def full_prompt(self, ctx: AttemptContext) -> str:
        retry_note = ctx.state.reason if ctx.state.attempt > 1 else None
        return build_prompt(ctx.priority, branch=ctx.ws.branch, guidelines=self.guidelines,
                            guidance_files=self._guidance_files(ctx.ws.path), test_command=self.cfg.git.test_command,
                            feedback=f"The previous attempt failed: {retry_note}" if retry_note else None,
                            continues_other_work=bool(ctx.state.extra.get("continued_from")))

    def fix_prompt(self, ctx: AttemptContext, summary: str, test_output: str) -> str:
        """A gate fix round: what failed and the end of the test output."""
        return build_feedback_prompt(ctx.priority, feedback=summary + "\n\n" + _tail(test_output),
                                     test_command=self.cfg.git.test_command)

    def _guidance_files(self, root: Path) -> list[tuple[str, str]]:
        found = []
        for name in self.cfg.daemon.guidance_files:
            path = root / name
            if path.is_file():
                found.append((name, path.read_text(encoding="utf-8", errors="replace")[:20_000]))
        return found

    # ------------------------------------------------------------------ one session

    def run(self, ctx: AttemptContext, prompt: str, resume: str | None) -> str:
        """One agent session; its final text (any end but success leaves through AttemptExit)."""
        allowance = self.before_session(ctx.priority.id)
        self.on_progress(phase="agent running")
        decide = self.s.decide_factory(ctx.priority, ctx.facts, ctx.ws.path)

        def decide_and_note(request: Request) -> Decision:
            asked = time.monotonic()
            decision = decide(request)
            note = ctx.record.note_decision(request, decision, str(ctx.ws.path), waited_s=time.monotonic() - asked)
            self.save_record(ctx)
            self.say(note.line())
            return decision

        agent = (self.s.agent_for(ctx.priority, self.backend) if allowance is None
                 else self.s.agent_for(ctx.priority, self.backend, max_cost_usd=allowance))
        self.on_agent(agent)
        started = time.time()
        try:
            outcome = agent.run(prompt, ctx.ws.path, decide=decide_and_note,
                                on_event=lambda event: self._on_event(ctx, event), resume_session_id=resume)
            if resume and outcome.is_error and session_not_found(outcome.reason):
                # The CLI never saved that session (killed before it wrote it): start afresh, with the full task.
                log.warning("the agent session to resume does not exist; starting a new one", session_id=resume)
                ctx.state = self.store.update(ctx.priority.id, session_id=None)
                outcome = agent.run(self.full_prompt(ctx), ctx.ws.path, decide=decide_and_note,
                                    on_event=lambda event: self._on_event(ctx, event))
        finally:
            self.on_agent(None)
        ctx.trace.set_session(outcome.session_id)
        ctx.trace.generation("agent_session", model=outcome.model, usage=dict(outcome.usage),
                             cost_usd=outcome.cost_usd, input=prompt, output=outcome.final_text,
                             start=started, end=time.time())
        ctx.record.note_outcome(outcome)
        self.save_record(ctx)
        self.store.add_cost(time.strftime("%Y-%m-%d"), outcome.cost_usd)
        ctx.state = self.store.update(ctx.priority.id, session_id=outcome.session_id or ctx.state.session_id,
                                      cost_usd=ctx.state.cost_usd + outcome.cost_usd,
                                      extra={"backend": self.backend_name})
        self.on_progress(turns=ctx.record.turns, cost=ctx.state.cost_usd)
        log.info("agent session ended", outcome=outcome.kind.value, cost_usd=round(outcome.cost_usd, 4),
                 turns=outcome.num_turns, session_id=outcome.session_id, reason=outcome.reason or None)
        if outcome.kind in (OutcomeKind.USAGE_LIMIT, OutcomeKind.RATE_LIMIT, OutcomeKind.OVERLOADED):
            raise AttemptExit(Paused(outcome))
        if not outcome.ok and allowance is not None:
            self.before_session(ctx.priority.id)  # stopped at the hard cap: block now, not after a retry
        if outcome.kind is OutcomeKind.AUTH_FAILED:
            raise AttemptExit(AuthFailed(outcome.reason or "the agent could not authenticate"))
        if not outcome.ok:
            raise AttemptExit(Failed(f"the agent session ended with {outcome.kind.value}"
                                     + (f": {outcome.reason}" if outcome.reason else "")))
        return outcome.final_text

    def _on_event(self, ctx: AttemptContext, event: Any) -> None:
        if isinstance(event, InitEvent) and event.session_id and event.session_id != ctx.state.session_id:
            # Stored the moment the CLI names it: a crash mid-session then resumes it (--resume)
            # instead of paying for the same work again.
            ctx.state = self.store.update(ctx.priority.id, session_id=event.session_id,
                                          extra={"backend": self.backend_name})
            log.debug("agent session started", session_id=event.session_id)
        elif isinstance(event, ToolUseEvent):
            summary = ctx.record.note_tool(event.name, describe_tool_input(dict(event.input)), str(ctx.ws.path))
            self.say(f"{event.name} {summary}".rstrip(), level="debug")
        elif isinstance(event, TextEvent):
            ctx.record.note_text(event.text)
        # What a person asked mid-attempt sees beside the question (the web inbox): the agent's last words and tools.
        ctx.facts["agent_last_message"] = ctx.record.texts[-1][-600:] if ctx.record.texts else ""
        ctx.facts["agent_recent_tools"] = [f"{name}: {summary}" for name, summary in ctx.record.tools[-5:]]

    # ------------------------------------------------------------------ what it leaves behind

    def save_record(self, ctx: AttemptContext) -> None:
        """Keep the record so far in the state DB: a resumed attempt (crash, usage limit) starts from it."""
        self.store.update(ctx.priority.id, extra={"record": ctx.record.snapshot()})

    def say(self, action: str, *, level: str = "info") -> None:
        """One compact line per agent action (`Bash pytest -q → allowed by rule tests`); `status` shows the last."""
        getattr(log, level)(action, kind="agent_action")
        self.store.set_info(last_action=action, last_action_at=time.time())


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
