"""MessageHandler: the agent's decision callback.

A request is decided by rule when a rule decides it; otherwise (or when an
escalation pattern matches) a person is asked through the escalator, with a
timeout and a safe default. Every exchange goes to the interaction log (redacted),
the telemetry sink and the tracer. Apart from the escalation call it is pure.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from coffee_maker.config import LoadedConfig
from coffee_maker.interaction.learned import LearnedRules
from coffee_maker.interaction.log import InteractionLog
from coffee_maker.notify.escalator import STOPPED, Escalation, Escalator
from coffee_maker.notify.sink import DecisionTracer, InteractionSink
from coffee_maker.rules.engine import RuleEngine
from coffee_maker.rules.subject import summary_of
from coffee_maker.types import (
    Decision,
    DecisionKind,
    DecisionSource,
    PermissionRequest,
    Question,
    Request,
    SourceKind,
)

log = structlog.get_logger(__name__)

PERMISSION_OPTIONS = ("yes", "no", "always")
#: Nobody answered in time (or nobody is reachable): the safe default decided.
_TIMED_OUT = DecisionSource(SourceKind.TIMEOUT)


def describe(request: Request, root: Path | None = None) -> str:
    """One line for people: the question, or the tool and its command or path (relative to the repo)."""
    if isinstance(request, Question):
        return request.text
    return f"Allow {request.tool}: {summary_of(request.input, root)}".strip(": ")


def why_asked(verdict: Decision, answer_from: Sequence[str] | None = None) -> str:
    """What the person reads under the request: the rule, its class, its reason, and where to answer."""
    rule = verdict.source.rule_name or verdict.source.label()
    parts = [f"Rule: {rule}" + (f" ({verdict.risk})" if verdict.risk else "")]
    if verdict.reason:
        parts.append(verdict.reason)
    text = " — ".join(parts)
    if answer_from:
        where = " or ".join("`coffee-maker answer`" if c == "cli" else f"the {c}" for c in answer_from)
        text += f"\nHigh severity: answer from {where}; buttons elsewhere do not count."
    return text


class MessageHandler:
    """The agent session's decision callback: ``handler.decide(request) -> Decision``.

    Facts for question rules (tests_passed, changes_valid, branch_ready, …) come
    from ``facts``, a provider called at each decision — the daemon passes the
    ``copy`` of the attempt's :class:`~coffee_maker.interaction.facts.Facts`.
    """

    def __init__(
        self, engine: RuleEngine, *, escalator: Escalator | None, log_: InteractionLog,
        facts: Callable[[], Mapping[str, Any]] = dict, priority: str | None = None, phase: str = "implementation",
        sink: InteractionSink | None = None, tracer: DecisionTracer | None = None, timeout_answer: str = "no",
        learned: LearnedRules | None = None, high_severity_channels: Sequence[str] | None = ("terminal", "cli"),
    ) -> None:
        self.engine = engine
        self.escalator = escalator
        self.log = log_
        self.provider = facts
        self.priority = priority
        self.phase = phase
        self.sink = sink
        self.tracer = tracer
        self.timeout_answer = timeout_answer
        self.learned = learned
        self.high_severity_channels = tuple(high_severity_channels) if high_severity_channels is not None else None

    def facts(self) -> dict[str, Any]:
        """The facts a question is judged with right now."""
        return dict(self.provider())

    def evaluate(self, request: Request) -> Decision:
        """The rules' verdict alone (ASK when a person would be needed)."""
        return self.engine.evaluate(request, self.facts())

    def decide(self, request: Request) -> Decision:
        """Decide by rule, else ask a person (or fall back to the safe default); log and count it."""
        started = time.monotonic()
        decision = verdict = self.evaluate(request)  # the rules' verdict is logged even when a person decided
        escalation: Escalation | None = None
        if decision.kind is DecisionKind.ASK:
            escalation, decision = self._ask_person(request, decision)
        decision = dataclasses.replace(decision, latency_s=time.monotonic() - started)
        self._record(request, decision, escalation, verdict)
        return decision

    def _ask_person(self, request: Request, rule_verdict: Decision) -> tuple[Escalation | None, Decision]:
        is_permission = isinstance(request, PermissionRequest)
        if self.escalator is None:
            if is_permission:
                return None, Decision(DecisionKind.DENY, message="No person is reachable; denied by default.",
                                      source=_TIMED_OUT, timed_out=True)
            return None, Decision(DecisionKind.ANSWER, answer=self.timeout_answer, source=_TIMED_OUT,
                                  timed_out=True)
        options: tuple[str, ...]
        if isinstance(request, PermissionRequest):
            # "always" is offered only where a narrow learned rule may be saved: never for a risk class.
            options = PERMISSION_OPTIONS if rule_verdict.risk is None else ("yes", "no")
        else:
            options = tuple(request.options)
        safe = "no" if is_permission else self.timeout_answer
        high = rule_verdict.severity == "high" and self.high_severity_channels is not None
        answer_from = self.high_severity_channels if high else None
        text = f"{describe(request, self.engine.root)}\n{why_asked(rule_verdict, answer_from)}"
        result = self.escalator.ask(
            text, kind="permission" if is_permission else "question", options=options, safe_default=safe,
            priority=self.priority, rank=2 if rule_verdict.source.kind is SourceKind.ESCALATE or high else 1,
            context={"rule": rule_verdict.source.label(), "class": rule_verdict.risk, "reason": rule_verdict.reason,
                     "severity": rule_verdict.severity, **_person_context(request, self.facts())},
            answer_from=answer_from)
        if result.stopped:  # the daemon is stopping: not a timeout; the question is asked again on resume
            return result, Decision(DecisionKind.DENY if is_permission else DecisionKind.ANSWER,
                                    answer=None if is_permission else safe,
                                    source=DecisionSource(SourceKind.STOPPED),
                                    message="The daemon stopped before anyone answered." if is_permission else None)
        who = result.who.removeprefix(f"{result.channel}:")
        source = _TIMED_OUT if result.timed_out else DecisionSource.person(result.channel, who)
        if isinstance(request, PermissionRequest):
            if result.answer == "always" and rule_verdict.risk is not None:
                log.warning("not saving an always-allow rule for a risky request; allowed once",
                            rule=rule_verdict.source.label(), risk=rule_verdict.risk)
            elif result.answer == "always" and self.learned is not None:
                rule = self.learned.add(request, result.who, self.engine.root)
                log.info("saved an always-allow rule", rule=rule.name, by=result.who)
            allowed = result.answer in ("yes", "always")
            return result, Decision(DecisionKind.ALLOW if allowed else DecisionKind.DENY, source=source,
                                    message=None if allowed else ("Nobody answered in time; denied by default."
                                                                  if result.timed_out else "A person denied this."),
                                    timed_out=result.timed_out)
        return result, Decision(DecisionKind.ANSWER, answer=result.answer, source=source,
                                timed_out=result.timed_out)

    def _record(self, request: Request, decision: Decision, escalation: Escalation | None,
                verdict: Decision) -> None:
        if isinstance(request, PermissionRequest):
            kind = "permission"
            context: dict[str, Any] = {"tool": request.tool, "input": dict(request.input)}
        else:
            kind = ("timeout_default" if decision.timed_out else STOPPED if decision.source.kind is SourceKind.STOPPED
                    else "user_response" if escalation else "auto_response")
            context = {**dict(request.context), **dict(self.facts()), "source": request.source}
        record = {
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "priority": self.priority, "phase": self.phase, "interaction_type": kind,
            "question": describe(request, self.engine.root), "context": context,
            "response": decision.answer if decision.kind is DecisionKind.ANSWER else decision.kind.value,
            "response_method": decision.source.label(), "user_notified": escalation is not None,
            "channels": list(escalation.channels) if escalation else [],
            "response_time_seconds": round(decision.latency_s, 4), "timed_out": decision.timed_out,
            "rule": verdict.source.label(), "risk_class": verdict.risk, "reason": verdict.reason, "severity": verdict.severity,
        }
        clean = self.log.append(record)
        if self.sink is not None:
            try:
                self.sink.record_interaction(clean)
            except Exception:  # noqa: BLE001 — numbers never break a decision
                log.warning("interaction sink failed", exc_info=True)
        if self.tracer is not None:
            try:
                self.tracer.decision(clean["question"], decision, clean["channels"],
                                     self.escalator.timeout_s if self.escalator else 0.0)
            except Exception:  # noqa: BLE001 — tracing never breaks a decision
                log.debug("tracing a decision failed", exc_info=True)


def build_rule_engine(loaded: LoadedConfig, *, root: Path | None = None) -> RuleEngine:
    """The configured rules, the learned ones first, judged relative to ``root`` (default: the repo)."""
    learned = LearnedRules(loaded.layout.learned_rules).load()
    return RuleEngine(loaded.config.rules, root=root or loaded.repo, test_command=loaded.config.git.test_command,
                      learned=learned)


def build_message_handler(
    loaded: LoadedConfig, *, escalator: Escalator | None, sink: InteractionSink | None = None,
    priority: str | None = None,
    facts: Callable[[], Mapping[str, Any]] = dict, tracer: DecisionTracer | None = None, root: Path | None = None,
) -> MessageHandler:
    """A handler wired from the configuration: rules, log directory, learned rules, timeout answer."""
    return MessageHandler(
        build_rule_engine(loaded, root=root), escalator=escalator, log_=InteractionLog(loaded.interaction_log_dir),
        facts=facts, priority=priority, sink=sink, tracer=tracer, timeout_answer=loaded.config.rules.timeout_answer,
        learned=LearnedRules(loaded.layout.learned_rules),
        high_severity_channels=loaded.config.rules.high_severity_channels)


def _person_context(request: Request, facts: Mapping[str, Any]) -> dict[str, Any]:
    """What the person deciding sees beside the question: the exact tool input and the agent's recent work."""
    context = {key: facts[key] for key in ("agent_last_message", "agent_recent_tools") if facts.get(key)}
    if isinstance(request, PermissionRequest):
        context.update(tool=request.tool, input=dict(request.input))
    return context
