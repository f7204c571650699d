"""The one place that builds every stage from the configuration and hands them to the loop.

Data flows one way: roadmap → plan → agent session (↔ MessageHandler ↔ channels) →
gate → git/PR → roadmap on the branch → state/telemetry. Nothing else imports all
of these; swap a stage here and the loop does not change.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from coffee_maker.agent import Limits, ScriptedBackend, create_backend
from coffee_maker.agent.base import AgentBackend
from coffee_maker.config import LoadedConfig
from coffee_maker.daemon.devlog import devlog_path
from coffee_maker.daemon.loop import Daemon, RoadmapView
from coffee_maker.daemon.planning import complete_on_remote
from coffee_maker.daemon.pr_loop import LoopSettings
from coffee_maker.daemon.progress import Progress
from coffee_maker.daemon.record import AttemptRecord
from coffee_maker.daemon.services import Services
from coffee_maker.daemon.stacking import stackable
from coffee_maker.daemon.state import StateStore
from coffee_maker.errors import AgentError, CoffeeMakerError
from coffee_maker.interaction.facts import FactsView
from coffee_maker.roadmap import explain, read_roadmap
from coffee_maker.types import DecisionCallback, Priority

if TYPE_CHECKING:
    from coffee_maker.observe.telemetry import TelemetryStore
    from coffee_maker.observe.tracing import Tracer

log = structlog.get_logger(__name__)

def roadmap_reader(loaded: LoadedConfig, git: Any = None) -> Any:
    """A function that re-reads and parses the roadmap (cheap: ~20 ms for 1.2 MB), with ``git`` also the
    priorities the roadmap on the remote's default branch marks complete (as of the last fetch)."""

    def read() -> RoadmapView:
        _, roadmap = read_roadmap(loaded.roadmap_path)
        done = complete_on_remote(loaded, git.remote, git.default_branch) if git is not None else frozenset()
        return RoadmapView(roadmap.priorities, list(roadmap.guidelines), roadmap.warnings, done)

    return read


def claim_keeper(loaded: LoadedConfig) -> Any:
    """Claims on the remote (``[daemon] claims``; "auto": when the repository has the remote)."""
    from coffee_maker.daemon.leases import ClaimKeeper
    from coffee_maker.proc import run
    from coffee_maker.vcs.claims import ClaimStore

    setting = loaded.config.daemon.claims
    if setting is False:
        return ClaimKeeper(None)
    remote = loaded.config.git.remote
    if run(["git", "remote", "get-url", remote], cwd=loaded.repo, timeout=30).returncode != 0:
        if setting is True:
            log.warning("[daemon] claims = true but the repository has no remote; working without claims",
                        remote=remote)
        return ClaimKeeper(None)
    return ClaimKeeper(ClaimStore.from_config(loaded), required=setting is True,
                       secret_allowlist=loaded.config.git.secret_allowlist)


def pick_next(store: StateStore | None, loaded: LoadedConfig | None = None) -> Any:
    """The planner (the same ``explain`` that `status` and `roadmap next` use), fed with the daemon's state.

    A blocked priority whose roadmap entry the person edited is retried first; roadmap errors
    and the reasons nothing is ready are logged once each time they change, not every cycle.
    """
    from coffee_maker.roadmap import Held, Roadmap, errors

    retry_delay = loaded.config.daemon.retry_delay_s if loaded is not None else 30.0
    stacks = loaded is not None and loaded.config.daemon.stack_dependents
    said: dict[str, object] = {}

    def say_once(key: str, value: object, emit: Any) -> None:
        if said.get(key) != value:
            said[key] = value
            if value:
                emit()

    def pick(view: RoadmapView, in_review: frozenset[str] | None = None,
             blocked: frozenset[str] | None = None, running: frozenset[str] = frozenset()) -> Priority | None:
        roadmap = Roadmap(view.priorities, view.warnings)
        if store is not None:
            for pid in store.retry_edited({p.id: p.text for p in view.priorities}):
                log.info("retrying a blocked priority: its roadmap entry was edited", priority=pid)
            held = dataclasses.replace(store.held(retry_delay), running=running,
                                       stackable=stackable(store.all()) if stacks else frozenset())
        else:
            held = Held(in_review=in_review or frozenset(), blocked=blocked or frozenset(), running=running)
        found = tuple(f"line {w.line}: {w.message}" for w in errors(roadmap))
        say_once("errors", found, lambda: log.error("the roadmap has errors; affected priorities wait",
                                                    errors=list(found)))
        chosen, skipped = explain(roadmap, held)
        reasons = () if chosen else tuple(f"{s.priority.id}: {s.reason}" for s in skipped)
        say_once("idle", reasons, lambda: log.info("no planned priority is ready", reasons=list(reasons)))
        return chosen

    return pick


def agent_factory(loaded: LoadedConfig) -> Any:
    """One agent per attempt. A scripted agent whose script is a folder reads
    ``<folder>/<priority-id-slug>.json`` (or ``default.json``) — the demo's per-priority sessions."""
    settings = loaded.config.agent

    def agent_for(priority: Priority, backend: str | None = None, *, max_cost_usd: float | None = None) -> AgentBackend:
        """``max_cost_usd``: what is left under a hard budget cap — the session that crosses it is stopped."""
        chosen = settings if backend in (None, settings.backend) else settings.model_copy(update={"backend": backend})
        if max_cost_usd is not None:
            cap = min(chosen.max_cost_usd, max_cost_usd) if chosen.max_cost_usd > 0 else max_cost_usd
            chosen = chosen.model_copy(update={"max_cost_usd": cap})
        limits = dataclasses.replace(Limits(), max_cost_usd=chosen.max_cost_usd) if max_cost_usd is not None else None
        if chosen.backend == "scripted" and chosen.script:
            script = Path(chosen.script)
            script = script if script.is_absolute() else loaded.repo / script
            if script.is_dir():
                for name in (f"{priority.id_slug}.json", f"{priority.id_slug}.toml", "default.json"):
                    if (script / name).is_file():
                        return ScriptedBackend(script / name, limits=limits, settings=chosen)
                raise AgentError(f"No agent script for {priority.id} in {script} "
                                 f"(looked for {priority.id_slug}.json and default.json).")
            return ScriptedBackend(script, limits=limits, settings=chosen)
        return create_backend(chosen)

    return agent_for


def build_services(loaded: LoadedConfig, *, status_line: Progress | None = None) -> Services:
    """Every stage; a terminal channel pauses ``status_line`` (the progress line) while it asks a question."""
    from coffee_maker.interaction.handler import build_message_handler
    from coffee_maker.notify import build_escalator
    from coffee_maker.notify.terminal import pause_status_line_while_asking
    from coffee_maker.vcs import GitManager, SafetyGate, make_forge, render_pr_body
    from coffee_maker.vcs.pr_body import Receipt

    telemetry, tracer = _observability(loaded)
    escalator = build_escalator(loaded, sink=telemetry)
    if status_line is not None:
        pause_status_line_while_asking(escalator.channels, status_line)
    git = GitManager(loaded)
    roadmap_rel = Path(os.path.relpath(loaded.roadmap_path, loaded.repo))

    def decide_factory(priority: Priority, facts: FactsView, root: Path) -> DecisionCallback:
        # A copy at each decision: the attempt keeps writing facts while the agent's thread decides.
        handler = build_message_handler(loaded, escalator=escalator, sink=telemetry, priority=priority.id,
                                        facts=facts.copy, tracer=tracer, root=root)
        return handler.decide

    def pr_body(priority: Priority, record: AttemptRecord) -> str:
        outcome = record.outcome
        state = StateStore(loaded.layout.state_db).get(priority.id)
        extra = state.extra if state is not None else {}
        receipt = Receipt(cost_usd=record.cost_usd, tokens=record.tokens, turns=record.turns, attempts=record.attempt,
                          gate_rounds=record.gate_rounds, ci_rounds=int((extra.get("ci") or {}).get("rounds", 0)),
                          review_rounds=int(extra.get("review_rounds", 0)),
                          waited_on_people_s=sum(d.waited_s for d in record.escalations),
                          checks=[str(c) for c in extra.get("checks_seen", [])])
        return render_pr_body(
            priority, gate_summary=record.gate_summary, test_output=record.test_output, cost_usd=record.cost_usd,
            turns=record.turns, session_id=outcome.session_id if outcome else None,
            decisions=[f"{d.request} → {d.kind}{': ' + d.response if d.kind == 'answer' else ''} ({d.method})"
                       for d in record.decisions if not d.escalated],
            escalations=[f"{d.request} → {d.response} ({d.method}, after {d.waited_s:.0f} s)"
                         for d in record.escalations],
            devlog=str(devlog_path(record)), claimed=record.claimed, merge_check=record.merge_check,
            receipt=receipt,
        )

    return Services(
        agent_for=agent_factory(loaded), git=git, gate=SafetyGate(loaded, git), forge=make_forge(loaded),
        notifier=escalator, decide_factory=decide_factory, pr_body=pr_body, roadmap_relpath=roadmap_rel,
        tracer=tracer, telemetry=telemetry,
        keep_failed_branches=loaded.config.git.keep_failed_branches,
    )


def _observability(loaded: LoadedConfig) -> tuple[TelemetryStore, Tracer]:
    from coffee_maker.observe.telemetry import TelemetryStore
    from coffee_maker.observe.tracing import Tracer

    return TelemetryStore.from_config(loaded), Tracer.from_config(loaded)


def readiness_check(loaded: LoadedConfig, git: Any, *, fetch: bool = True) -> Callable[[Priority], str | None]:
    """Before each attempt: the repository has commits, the remote its default branch, and the roadmap
    with this priority is on it. A problem is one sentence; the daemon waits instead of using up an attempt."""
    from coffee_maker.vcs.readiness import repository_problem, roadmap_on_remote_problem

    roadmap_rel = os.path.relpath(loaded.roadmap_path, loaded.repo)
    excluded: list[bool] = []

    def check(priority: Priority) -> str | None:
        problem = repository_problem(git)
        if problem is not None or roadmap_rel.startswith(".."):  # a roadmap outside the repository: not checked
            return problem
        problem = roadmap_on_remote_problem(git, roadmap_rel, priority.id)
        if problem is not None and fetch:  # pushed since the last fetch?
            try:
                git.fetch()
            except CoffeeMakerError:
                return problem
            problem = roadmap_on_remote_problem(git, roadmap_rel, priority.id)
        if problem is None and fetch and not excluded:
            git.preflight()  # once: it also keeps the daemon's own files out of `git status`
            excluded.append(True)
        return problem

    return check


def build_daemon(loaded: LoadedConfig, wake: threading.Event) -> Daemon:
    progress = Progress()
    progress.attach_to_logging()
    services = build_services(loaded, status_line=progress)
    store = StateStore(loaded.layout.state_db)
    planner = pick_next(store, loaded)
    daemon = Daemon(loaded, services, store, read_roadmap=roadmap_reader(loaded, services.git),
                    pick=lambda view, in_review, blocked, running=frozenset(): planner(view, in_review, blocked,
                                                                                        running),
                    progress=progress, wake=wake, check_ready=readiness_check(loaded, services.git),
                    claims=claim_keeper(loaded))
    daemon.reviews.configure(LoopSettings.of(loaded))
    return daemon
