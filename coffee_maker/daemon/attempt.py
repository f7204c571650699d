"""One priority from wherever its persisted phase says it is, to an open pull request.

Each step is idempotent and writes its transition before the next starts, so
``advance`` can be called again after a crash at any point and continues: a
prepared branch is reused, a commit already made is found, a push is repeated
harmlessly, and the forge finds the PR it already opened instead of opening a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from coffee_maker.agent.base import AgentBackend
from coffee_maker.config import LoadedConfig
from coffee_maker.daemon.agent_session import AgentSessions, AttemptContext
from coffee_maker.daemon.devlog import write_devlog
from coffee_maker.daemon.exits import (
    AttemptExit,
    Failed,
    Interrupted,
    PrGone,
    Reached,
)
from coffee_maker.daemon.pr_receipt import receipt_key, render_body
from coffee_maker.daemon.record import AttemptRecord, AttemptResult
from coffee_maker.daemon.services import Services
from coffee_maker.daemon.stacking import Stacking
from coffee_maker.daemon.state import Phase, PriorityState, StateStore, section_digest
from coffee_maker.errors import CoffeeMakerError
from coffee_maker.interaction.facts import Facts
from coffee_maker.observe.tracing import AttemptTrace
from coffee_maker.roadmap import RoadmapEditor, SetNote, SetStatus, Tick, parse_roadmap
from coffee_maker.types import (
    Priority,
    PRState,
    Status,
    Workspace,
)

log = structlog.get_logger(__name__)


class AttemptRunner:
    def __init__(
        self, loaded: LoadedConfig, services: Services, store: StateStore, *,
        guidelines: list[tuple[str, str]], on_progress: Callable[..., None] | None = None,
        on_agent: Callable[[AgentBackend | None], None] | None = None, backend: str | None = None,
        before_session: Callable[[str], float | None] | None = None,
        before_pr: Callable[[Priority, Workspace], str] | None = None, stacking: Stacking | None = None,
        continue_from: Callable[[str, Path], str | None] | None = None,
        claim_still_ours: Callable[[str], bool] | None = None,
    ) -> None:
        self.loaded = loaded
        self.cfg = loaded.config
        self.s = services
        self.store = store
        self.on_progress = on_progress or (lambda **_: None)
        self.last_record: AttemptRecord | None = None
        #: Each agent session. ``backend``: None = the configured one, else a fallback's name.
        #: ``before_session`` is called before every session (first, gate-fix rounds, resumed): it raises at a
        #: hard budget cap, else returns the most the session may cost (None: no cap) — the agent stops the
        #: session crossing it.
        self.sessions = AgentSessions(
            self.cfg, services, store, guidelines=guidelines, backend=backend,
            before_session=before_session or (lambda _pid: None), on_progress=self.on_progress,
            on_agent=on_agent or (lambda _agent: None))
        #: Called before the PR opens: may wait for a conflicting open PR; returns the PR body's merge-check line.
        self.before_pr = before_pr or (lambda _priority, _ws: "")
        #: Stacked dependents (``daemon/stacking.py``): None, no stacking at all.
        self.stacking = stacking
        #: A new branch's worktree gets another daemon's checkpoint when its claim was taken over
        #: (``ClaimKeeper.continue_from``): returns that daemon's owner id when it restored work.
        self.continue_from = continue_from or (lambda _pid, _path: None)
        #: Asked before every push of the branch (``ClaimKeeper.confirm``): False, another daemon took the
        #: priority over meanwhile and continues it — this attempt leaves without pushing anything.
        self.claim_still_ours = claim_still_ours or (lambda _pid: True)

    @property
    def backend(self) -> str | None:
        """This attempt's agent backend: None = the configured one, else a fallback's name."""
        return self.sessions.backend

    # ------------------------------------------------------------------ entry points

    def run(self, priority: Priority, *, attempt: int, trace: AttemptTrace, feedback: str | None = None) -> Reached:
        """Drive ``priority`` from its persisted phase to pr_open as attempt number ``attempt``.

        Any other end leaves through :class:`AttemptExit` (raised, so the trace records it as an error).
        With ``feedback`` (review comments on an open PR) the agent is resumed on the same branch.
        """
        try:
            return Reached(self._advance(priority, attempt, trace, feedback).phase)
        except CoffeeMakerError as exc:  # git / forge / agent start-up errors: a failed attempt, not a crash
            raise AttemptExit(Failed(exc.message)) from exc

    def _advance(self, priority: Priority, attempt: int, trace: AttemptTrace, feedback: str | None) -> PriorityState:
        state = self.store.get(priority.id)
        if state is None or state.phase in (Phase.PLANNED, Phase.RETRY):
            state = self._branch(priority, state, attempt)
        ws = self._workspace(priority, state)
        record = AttemptRecord(priority, state.attempt, ws.branch)
        # Resumed after a crash or a usage-limit pause: the earlier sessions' decisions belong in the record too.
        record.restore(state.extra.get("record"))
        self.last_record = record
        ctx = AttemptContext(priority, state, ws, record, self._facts(priority, ws), trace, feedback)
        if feedback is not None:
            # ``fixing``: the PR is out while the agent works on it — the poller watches it, the push checks it.
            ctx.state = self.store.transition(priority.id, Phase.AGENT_RUNNING, detail="review feedback",
                                              extra={"fixing": True})
        steps = {
            Phase.BRANCHED: self._work, Phase.AGENT_RUNNING: self._work, Phase.VALIDATING: self._work,
            Phase.COMMITTED: self._push, Phase.PUSHED: self._open_pr,
        }
        while ctx.state.phase in steps:
            ctx.state = steps[ctx.state.phase](ctx)
        return ctx.state

    def mark_blocked_on_branch(self, priority: Priority, reason: str, attempts: int, *, secrets: bool) -> None:
        """Record the failure on the branch: the dev log and ⏸️ Blocked with the reason, pushed.

        The agent's unvalidated work goes with it for inspection, unless the gate saw a secret
        in it — then it is dropped and only the dev log and the status are committed.
        """
        state = self.store.get(priority.id)
        if state is None or not state.branch:
            return
        ws = self._workspace(priority, state)
        if secrets:
            self.s.git.discard(ws, keep_branch=True)
            ws = self.s.git.prepare(priority)
        record = self.last_record
        if record is None:  # blocked right after a restart: the earlier sessions are in the state DB
            record = AttemptRecord(priority, state.attempt, ws.branch)
            record.restore(state.extra.get("record"))
        record.result, record.reason = AttemptResult.BLOCKED, reason
        record.ended_at = time.time()
        if self.cfg.daemon.devlogs:
            write_devlog(ws.path, record)
        self._edit_roadmap(ws, priority, [SetStatus(Status.BLOCKED, _one_line(reason))])
        self.s.git.commit(ws, f"chore({priority.id_slug}): blocked after {attempts} attempts",
                          {"Priority": priority.id, "Blocked-Reason": _one_line(reason)})
        self.s.git.push(ws)
        self.s.git.discard(ws, keep_branch=self.s.keep_failed_branches)

    # ------------------------------------------------------------------ steps

    def _branch(self, priority: Priority, previous: PriorityState | None, attempt: int) -> PriorityState:
        self.on_progress(phase="branching")
        stacking = self.stacking if self.cfg.daemon.stack_dependents else None
        parent = stacking.parent_for(priority) if stacking is not None else None
        ws = self.s.git.prepare(priority, base=parent.branch if parent is not None else None)
        stacked = stacking.facts(parent, ws) if stacking is not None and parent is not None else {}
        continued = self.continue_from(priority.id, ws.path)
        return self.store.transition(
            priority.id, Phase.BRANCHED, attempt=attempt, branch=ws.branch, workspace=str(ws.path),
            session_id=previous.session_id if previous else None, commit_sha=None, reason="",
            # The section as the daemon worked from it: a later edit by the person retries a block.
            extra={"base": ws.base, "section_digest": section_digest(priority.text), **stacked,
                   "continued_from": continued,
                   # A retry after a failed fix still works for the open PR (``fixing``); a new start does not.
                   **({} if previous is not None and previous.phase is Phase.RETRY else {"fixing": None})},
            detail=f"attempt {attempt}" + (f", stacked on {parent.pid}'s PR #{parent.pr_number}" if parent else ""),
        )

    def _workspace(self, priority: Priority, state: PriorityState) -> Workspace:
        """The attempt's worktree; recreated from its branch when it is gone (a crash, a cleanup)."""
        if state.workspace and (Path(state.workspace) / ".git").exists() and state.extra.get("base"):
            return Workspace(Path(state.workspace), state.branch or "", state.extra["base"])
        ws = self.s.git.prepare(priority, base=state.extra.get("base"))
        self.store.update(priority.id, workspace=str(ws.path))
        return ws

    def _facts(self, priority: Priority, ws: Workspace) -> Facts:
        return Facts({"priority": priority.id, "branch": ws.branch, "tests_passed": False, "changes_valid": False,
                      "branch_ready": False, "files_modified": 0})

    def _work(self, ctx: AttemptContext) -> PriorityState:
        """Agent → gate, with fix rounds; ends committed (or raises)."""
        backend = self.sessions.backend_name
        if ctx.state.session_id and ctx.state.extra.get("backend", backend) != backend:
            # A session id means nothing to another agent CLI: start fresh on the work tree as it is.
            ctx.state = self.store.update(ctx.priority.id, session_id=None)
        prompt = self.sessions.first_prompt(ctx)
        resume = ctx.state.session_id if (ctx.feedback is not None or ctx.state.phase is Phase.AGENT_RUNNING) else None
        rounds = self.cfg.daemon.gate_fix_rounds
        for round_no in range(rounds + 1):
            if prompt is not None:
                if ctx.state.phase is not Phase.AGENT_RUNNING:
                    ctx.state = self.store.transition(ctx.priority.id, Phase.AGENT_RUNNING, detail=f"round {round_no}")
                final_text = self.sessions.run(ctx, prompt, resume)
                if ctx.feedback is not None and round_no == 0:  # its answer to the feedback (pr_policy.declined)
                    ctx.state = self.store.update(ctx.priority.id, extra={"fix_answer": final_text})
            found = self._already_committed(ctx)
            if found is not None:
                return found
            if ctx.state.phase is not Phase.VALIDATING:
                ctx.state = self.store.transition(ctx.priority.id, Phase.VALIDATING)
            self.on_progress(phase="validating")
            with ctx.trace.span("safety_gate", input={"test_command": self.cfg.git.test_command}) as span:
                report = self.s.gate.check(ctx.ws)
                span.end(output={"passed": report.passed, "summary": report.summary})
            ctx.record.gate_passed, ctx.record.gate_summary = report.passed, report.summary
            ctx.record.test_output = report.test_output
            ctx.facts.update(tests_passed=report.passed or not any("test" in f.lower() for f in report.failures),
                             changes_valid=report.passed, files_modified=len(self.s.git.changed_files(ctx.ws)))
            if report.passed:
                return self._commit(ctx)
            if report.secrets_found:
                self.s.notifier.inform(
                    f"{ctx.priority.id}: the safety gate found what looks like a secret in the agent's changes; "
                    f"nothing was committed. {report.summary}", priority=ctx.priority.id, kind="escalation")
            if round_no == rounds:
                log.warning("gate failed", reason=report.summary, rounds=rounds)
                raise AttemptExit(Failed(f"the safety gate failed: {report.summary}", secrets=report.secrets_found))
            ctx.record.gate_rounds += 1
            log.warning(f"gate failed, asking the agent to fix it (round {round_no + 1} of {rounds})",
                        reason=report.summary)
            self.store.set_info(last_action=f"gate failed, asking the agent to fix it (round {round_no + 1} of "
                                            f"{rounds}): {report.summary}")
            prompt = self.sessions.fix_prompt(ctx, report.summary, report.test_output)
            resume = ctx.state.session_id
        raise AssertionError("unreachable: the loop returns or raises")

    def _already_committed(self, ctx: AttemptContext) -> PriorityState | None:
        """After a crash between commit and its state write, the commit is found, not redone."""
        if ctx.state.phase is not Phase.VALIDATING or self.s.git.changed_files(ctx.ws):
            return None
        sha = self.s.git.committed_head(ctx.ws)
        if sha and sha != ctx.state.commit_sha:
            return self.store.transition(ctx.priority.id, Phase.COMMITTED, commit_sha=sha, detail="found after restart")
        return None

    def _commit(self, ctx: AttemptContext) -> PriorityState:
        ctx.record.files_changed = self.s.git.changed_files(ctx.ws)
        ctx.record.result = AttemptResult.SUCCESS
        ctx.record.ended_at = time.time()
        if self.cfg.daemon.devlogs and ctx.feedback is None:
            write_devlog(ctx.ws.path, ctx.record)
        kind = "fix" if ctx.feedback is not None else "feat"
        message = f"{kind}({ctx.priority.id_slug}): {ctx.priority.title}"
        if ctx.feedback is not None:
            message += " (review feedback)"
        trailers = {"Priority": ctx.priority.id, "Attempt": str(ctx.state.attempt)}
        if ctx.state.session_id:
            trailers["Agent-Session"] = ctx.state.session_id
        self.on_progress(phase="committing")
        with ctx.trace.span("commit", input={"message": message}) as span:
            sha = self.s.git.commit(ctx.ws, message, trailers)
            span.end(output={"sha": sha})
        return self.store.transition(ctx.priority.id, Phase.COMMITTED, commit_sha=sha)

    def _push(self, ctx: AttemptContext) -> PriorityState:
        self._still_ours(ctx)
        self._pr_still_open(ctx)
        self.on_progress(phase="pushing")
        with ctx.trace.span("push", input={"branch": ctx.ws.branch}) as span:
            self.s.git.push(ctx.ws)
            span.end(output={"pushed": True})
        return self.store.transition(ctx.priority.id, Phase.PUSHED)

    def _open_pr(self, ctx: AttemptContext) -> PriorityState:
        """Open (or find) the PR, tick the roadmap on the branch, push — then record pr_open.

        Every part is idempotent, so a crash anywhere in here repeats the step harmlessly:
        the forge finds the PR it opened, the editor finds the roadmap already ticked, and
        the push sends whatever commit did not reach the remote.
        """
        self._still_ours(ctx)
        self._pr_still_open(ctx)
        if self.stacking is not None:  # a stacked branch lands first if its parent merged meanwhile
            landed = self.stacking.before_pr(ctx.priority.id, ctx.ws)
            if landed is None:  # its parent's PR was closed: blocked, the branch stays
                return self.store.get(ctx.priority.id) or ctx.state
            ctx.ws = landed
        ctx.record.merge_check = self.before_pr(ctx.priority, ctx.ws)
        self.on_progress(phase="opening PR")
        self.sessions.save_record(ctx)  # with the gate's result: a receipt refreshed later renders the same body
        current = self.store.get(ctx.priority.id)
        shown = receipt_key(current, self.store)  # what the body below shows
        body = render_body(self.s, ctx.priority, ctx.record, current, self.store)
        with ctx.trace.span("pull_request", input={"branch": ctx.ws.branch, "base": ctx.ws.base}) as span:
            pr = self.s.forge.open_or_update(branch=ctx.ws.branch, base=ctx.ws.base,
                                             title=f"{ctx.priority.id}: {ctx.priority.title}", body=body)
            span.end(output={"number": pr.number, "url": pr.url})
        ctx.record.pr_url = pr.url
        # Complete because the gate passed; only the deliverables the agent claimed are ticked (the PR body
        # says they were not verified one by one) — they reach the default branch when a person merges.
        self._edit_roadmap(ctx.ws, ctx.priority,
                           [SetStatus(Status.COMPLETE), Tick(ctx.record.claimed), SetNote("PR", pr.url)])
        # Commit whatever is uncommitted, not only this run's edit: a crash may have left the tick
        # written but not committed, and the editor then finds nothing left to change.
        if self.s.git.changed_files(ctx.ws):
            self.s.git.commit(ctx.ws, f"docs(roadmap): mark {ctx.priority.id} complete", {"Priority": ctx.priority.id})
        self.s.git.push(ctx.ws)
        # ``fix_done``: the poller answers the fix's review threads even when it changed no code.
        state = self.store.transition(ctx.priority.id, Phase.PR_OPEN, pr_number=pr.number, pr_url=pr.url,
                                      extra={"fixing": None, "fix_done": bool(ctx.state.extra.get("fixing")),
                                             "receipt_key": shown})
        if ctx.feedback is None:
            self.s.notifier.inform(f"{ctx.priority.id} done — PR #{pr.number} ready for review: {pr.url}",
                                   priority=ctx.priority.id, kind="pr_ready")
        else:
            self.s.notifier.inform(f"{ctx.priority.id}: review feedback addressed on PR #{pr.number}",
                                   priority=ctx.priority.id, kind="pr_updated")
        return state

    def _still_ours(self, ctx: AttemptContext) -> None:
        """Nothing is pushed for a priority another daemon took over: two daemons would push one branch."""
        if not self.claim_still_ours(ctx.priority.id):
            log.warning("another daemon took this priority over before the push; leaving it",
                        priority=ctx.priority.id)
            raise AttemptExit(Interrupted())

    def _pr_still_open(self, ctx: AttemptContext) -> None:
        """A fix goes only to an open PR: one a person merged or closed meanwhile gets nothing pushed (and
        ``open_or_update`` would open a second PR for the branch)."""
        if not ctx.state.extra.get("fixing"):
            return
        try:
            pr = self.s.forge.find(ctx.ws.branch)
        except CoffeeMakerError as exc:  # the forge having a bad minute costs no attempt: the poller watches too
            log.warning("could not check the PR is still open before pushing the fix", error=exc.message)
            return
        if pr is not None and pr.state is not PRState.OPEN:
            raise AttemptExit(PrGone(pr))

    # ------------------------------------------------------------------ helpers

    def _edit_roadmap(self, ws: Workspace, priority: Priority, edits: list[Any]) -> bool:
        path = ws.path / self.s.roadmap_relpath
        if not path.exists():
            log.warning("roadmap not found on the branch; not updated", path=str(path))
            return False
        heading = priority.text.split("\n", 1)[0]
        editor = RoadmapEditor(path)
        if not parse_roadmap(editor.text).find(priority.id):
            # Planned in the person's checkout but not yet pushed: the branch's roadmap lacks it.
            log.warning("the priority is not in the roadmap on the default branch; push your roadmap so the "
                        "merge can tick it", priority=priority.id, branch=ws.branch)
            return False
        return editor.apply(priority.id, edits, heading=heading)

def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]
