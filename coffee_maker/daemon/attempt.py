"""One priority from wherever its persisted phase says it is, to an open pull request.

Each step is idempotent and writes its transition before the next starts, so
``advance`` can be called again after a crash at any point and continues: a
prepared branch is reused, a commit already made is found, a push is repeated
harmlessly, and the forge finds the PR it already opened instead of opening a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from coffee_maker.config import LoadedConfig
from coffee_maker.daemon.devlog import write_devlog
from coffee_maker.daemon.ports import Services, Workspace
from coffee_maker.daemon.prompt import build_feedback_prompt, build_prompt
from coffee_maker.daemon.record import AttemptRecord
from coffee_maker.daemon.state import Phase, PriorityState, StateStore
from coffee_maker.types import OutcomeKind, Priority, Request, SessionOutcome

log = structlog.get_logger(__name__)


class AttemptFailed(Exception):
    """The attempt did not produce mergeable work; ``reason`` says why."""

    def __init__(self, reason: str, *, retryable: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class AgentPaused(Exception):
    """The agent hit a usage or rate limit: sleep and resume the same priority later."""

    def __init__(self, outcome: SessionOutcome) -> None:
        super().__init__(outcome.reason or outcome.kind.value)
        self.outcome = outcome


class AgentAuthFailed(Exception):
    """The agent cannot authenticate: nothing will work until a person fixes it."""


@dataclass
class AttemptContext:
    """What the steps of one attempt share."""

    priority: Priority
    state: PriorityState
    ws: Workspace
    record: AttemptRecord
    facts: dict[str, Any]


class AttemptRunner:
    def __init__(
        self, loaded: LoadedConfig, services: Services, store: StateStore, *,
        guidelines: list[tuple[str, str]], on_progress: Callable[..., None] | None = None,
    ) -> None:
        self.loaded = loaded
        self.cfg = loaded.config
        self.s = services
        self.store = store
        self.guidelines = guidelines
        self.on_progress = on_progress or (lambda **_: None)

    # ------------------------------------------------------------------ entry point

    def advance(self, priority: Priority) -> PriorityState:
        """Drive ``priority`` from its persisted phase to pr_open; raises AttemptFailed/AgentPaused."""
        state = self.store.get(priority.id)
        if state is None or state.phase in (Phase.PLANNED, Phase.RETRY):
            state = self._branch(priority, state)
        ws = Workspace(Path(state.workspace or self.loaded.repo), state.branch or "", state.extra.get("base", ""))
        ctx = AttemptContext(priority, state, ws, AttemptRecord(priority, state.attempt, ws.branch),
                             {"priority": priority.id, "branch": ws.branch, "tests_passed": False,
                              "changes_valid": False, "branch_ready": False, "files_modified": 0})
        steps = {
            Phase.BRANCHED: self._work, Phase.AGENT_RUNNING: self._work, Phase.VALIDATING: self._work,
            Phase.COMMITTED: self._push, Phase.PUSHED: self._open_pr,
        }
        while ctx.state.phase in steps:
            ctx.state = steps[ctx.state.phase](ctx)
        return ctx.state

    # ------------------------------------------------------------------ steps

    def _branch(self, priority: Priority, previous: PriorityState | None) -> PriorityState:
        attempt = (previous.attempt if previous else 0) + 1
        self.on_progress(phase="branching")
        ws = self.s.git.prepare(priority)
        return self.store.transition(
            priority.id, Phase.BRANCHED, attempt=attempt, branch=ws.branch, workspace=str(ws.path),
            session_id=None, commit_sha=None, reason="", extra={"base": ws.base}, detail=f"attempt {attempt}",
        )

    def _work(self, ctx: AttemptContext) -> PriorityState:
        """Agent → gate, with fix rounds; ends committed (or raises)."""
        resume = ctx.state.session_id if ctx.state.phase is not Phase.BRANCHED else None
        if ctx.state.phase is Phase.VALIDATING:
            prompt = None  # crashed during validation: validate again before asking the agent anything
        elif resume:
            prompt = build_feedback_prompt(ctx.priority, feedback="The previous session was interrupted. "
                                           "Continue where you stopped and finish the work.",
                                           test_command=self.cfg.git.test_command)
        else:
            prompt = build_prompt(ctx.priority, branch=ctx.ws.branch, guidelines=self.guidelines,
                                  guidance_files=self._guidance_files(ctx.ws.path),
                                  test_command=self.cfg.git.test_command)
        rounds = self.cfg.daemon.gate_fix_rounds
        for round_no in range(rounds + 1):
            if prompt is not None:
                ctx.state = self._move(ctx, Phase.AGENT_RUNNING, detail=f"round {round_no}")
                self._run_agent(ctx, prompt, resume)
            already = self._already_committed(ctx)
            if already:
                return already
            ctx.state = self._move(ctx, Phase.VALIDATING)
            self.on_progress(phase="validating")
            report = self.s.gate.check(ctx.ws)
            ctx.record.gate_passed, ctx.record.gate_summary = report.passed, report.summary
            ctx.record.test_output = report.test_output
            ctx.facts.update(tests_passed=report.passed or "test" not in report.summary.lower(),
                             changes_valid=report.passed)
            if report.passed:
                return self._commit(ctx)
            if report.secrets_found:
                self.s.notifier.inform(
                    f"{ctx.priority.id}: the safety gate found what looks like a secret in the agent's changes; "
                    f"nothing was committed. {report.summary}", priority=ctx.priority.id, kind="escalation")
            if round_no == rounds:
                raise AttemptFailed(f"the safety gate failed: {report.summary}")
            prompt = build_feedback_prompt(ctx.priority, feedback=report.summary + "\n\n" + _tail(report.test_output),
                                           test_command=self.cfg.git.test_command)
            resume = ctx.state.session_id
        raise AttemptFailed("the safety gate failed")  # unreachable: the loop returns or raises

    def _run_agent(self, ctx: AttemptContext, prompt: str, resume: str | None) -> None:
        self.on_progress(phase="agent running")
        decide = self.s.decide_factory(ctx.priority, ctx.facts)

        def decide_and_note(request: Request) -> Any:
            decision = decide(request)
            ctx.record.note_decision(request, decision)
            return decision

        outcome = self.s.agent.run(prompt, cwd=ctx.ws.path, decide=decide_and_note,
                                   on_event=lambda event: self._on_event(ctx, event), resume_session_id=resume)
        ctx.record.note_outcome(outcome)
        day = time.strftime("%Y-%m-%d")
        self.store.add_cost(day, outcome.cost_usd)
        ctx.state = self.store.update(ctx.priority.id, session_id=outcome.session_id or ctx.state.session_id,
                                      cost_usd=ctx.state.cost_usd + outcome.cost_usd)
        self.on_progress(turns=ctx.record.turns, cost=ctx.state.cost_usd)
        log.info("agent session ended", outcome=outcome.kind.value, cost_usd=outcome.cost_usd,
                 turns=outcome.num_turns, session_id=outcome.session_id, reason=outcome.reason)
        if outcome.kind in (OutcomeKind.USAGE_LIMIT, OutcomeKind.RATE_LIMIT, OutcomeKind.OVERLOADED):
            raise AgentPaused(outcome)
        if outcome.kind is OutcomeKind.AUTH_FAILED:
            raise AgentAuthFailed(outcome.reason or "the agent could not authenticate")
        if not outcome.ok:
            raise AttemptFailed(f"the agent session ended with {outcome.kind.value}: {outcome.reason}".rstrip(": "))

    def _on_event(self, ctx: AttemptContext, event: Any) -> None:
        kind = getattr(event, "kind", None) or getattr(event, "type", None) or type(event).__name__
        kind = str(getattr(kind, "value", kind)).lower()
        if "tool_use" in kind or kind == "tooluse":
            ctx.record.note_tool(str(getattr(event, "name", getattr(event, "tool", "tool"))),
                                 _summarise(getattr(event, "input", getattr(event, "tool_input", {}))))
        elif "text" in kind:
            ctx.record.note_text(str(getattr(event, "text", "")))

    def _already_committed(self, ctx: AttemptContext) -> PriorityState | None:
        """After a crash between commit and its state write, the commit is found, not redone."""
        if ctx.state.phase is not Phase.VALIDATING:
            return None
        head = self.s.extra.get("committed_head")
        sha = head(ctx.ws) if callable(head) else None
        if sha and not self.s.git.changed_files(ctx.ws):
            return self.store.transition(ctx.priority.id, Phase.COMMITTED, commit_sha=sha, detail="found after restart")
        return None

    def _commit(self, ctx: AttemptContext) -> PriorityState:
        ctx.record.files_changed = self.s.git.changed_files(ctx.ws)
        ctx.record.result = "success"
        if self.cfg.daemon.devlogs:
            write_devlog(ctx.ws.path, ctx.record)
        message = f"feat({ctx.priority.id_slug}): {ctx.priority.title}"
        trailers = {"Priority": ctx.priority.id, "Attempt": str(ctx.state.attempt)}
        if ctx.state.session_id:
            trailers["Agent-Session"] = ctx.state.session_id
        self.on_progress(phase="committing")
        sha = self.s.git.commit(ctx.ws, message, trailers)
        return self.store.transition(ctx.priority.id, Phase.COMMITTED, commit_sha=sha)

    def _push(self, ctx: AttemptContext) -> PriorityState:
        self.on_progress(phase="pushing")
        self.s.git.push(ctx.ws)
        return self.store.transition(ctx.priority.id, Phase.PUSHED)

    def _open_pr(self, ctx: AttemptContext) -> PriorityState:
        self.on_progress(phase="opening PR")
        body_for = self.s.extra.get("pr_body")
        body = body_for(ctx.priority, ctx.record) if callable(body_for) else ctx.priority.text
        pr = self.s.forge.open_or_update(branch=ctx.ws.branch, base=ctx.ws.base,
                                         title=f"{ctx.priority.id}: {ctx.priority.title}", body=body)
        state = self.store.transition(ctx.priority.id, Phase.PR_OPEN, pr_number=pr.number, pr_url=pr.url)
        tick = self.s.extra.get("tick_roadmap")
        if callable(tick):
            tick(ctx.ws, ctx.priority, pr)
        self.s.notifier.inform(f"{ctx.priority.id} done — PR #{pr.number} ready for review: {pr.url}",
                               priority=ctx.priority.id, kind="pr_ready")
        return state

    # ------------------------------------------------------------------ helpers

    def _move(self, ctx: AttemptContext, phase: Phase, *, detail: str = "") -> PriorityState:
        if ctx.state.phase is phase and phase is not Phase.AGENT_RUNNING:
            return ctx.state
        return self.store.transition(ctx.priority.id, phase, detail=detail)

    def _guidance_files(self, root: Path) -> list[tuple[str, str]]:
        found = []
        for name in self.cfg.daemon.guidance_files:
            path = root / name
            if path.is_file():
                found.append((name, path.read_text(encoding="utf-8", errors="replace")[:20_000]))
        return found


def _summarise(tool_input: Any) -> str:
    from coffee_maker.daemon.record import describe_tool_input

    return describe_tool_input(tool_input)


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
