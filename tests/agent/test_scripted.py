"""The scripted backend: deterministic sessions from step lists."""

from __future__ import annotations

import json
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from coffee_maker.agent.base import AgentBackend, Limits
from coffee_maker.agent.events import PermissionDeniedEvent, ResultEvent, TextEvent
from coffee_maker.agent.scripted import Script, ScriptedBackend, load_script
from coffee_maker.errors import AgentError
from coffee_maker.types import Decision, DecisionKind, DecisionSource, OutcomeKind, Question

from .conftest import Recorder


def run(steps: object, tmp_path: Path, rec: Recorder | None = None, **kwargs: object) -> tuple[object, Recorder]:
    rec = rec or Recorder()
    backend = ScriptedBackend(steps, **kwargs)  # type: ignore[arg-type]
    return backend.run("prompt", tmp_path, on_event=rec.on_event, decide=rec.decide), rec


class TestSteps:
    def test_is_an_agent_backend(self) -> None:
        """The scripted backend matches the AgentBackend protocol."""
        assert isinstance(ScriptedBackend([{"say": "x"}]), AgentBackend)

    def test_edits_runs_and_succeeds(self, tmp_path: Path) -> None:
        """write, edit and run change the tree; the outcome is success with the last text."""
        steps = [{"write": "a.txt", "content": "one\n"}, {"edit": "a.txt", "old": "one", "new": "two"},
                 {"run": "cat a.txt > b.txt"}, {"say": "Finished.", "cost": 0.25, "turns": 2}]
        outcome, rec = run(steps, tmp_path)
        assert (tmp_path / "b.txt").read_text() == "two\n"
        assert outcome.kind is OutcomeKind.SUCCESS and outcome.final_text == "Finished."  # type: ignore[attr-defined]
        assert (outcome.cost_usd, outcome.num_turns) == (0.25, 2)  # type: ignore[attr-defined]
        assert rec.types()[0] == "init" and rec.types()[-1] == "result"
        assert rec.types().count("tool_use") == 3

    def test_denied_permission_skips_the_effect(self, tmp_path: Path) -> None:
        """An effect with ask_permission runs only when allowed."""
        steps = [{"write": "yes.txt", "content": "", "ask_permission": True},
                 {"run": "touch no.txt", "ask_permission": True}]
        _, rec = run(steps, tmp_path, Recorder(allow=("Write",), deny_message="no shell"))
        assert (tmp_path / "yes.txt").exists() and not (tmp_path / "no.txt").exists()
        denied = [e for e in rec.events if isinstance(e, PermissionDeniedEvent)]
        assert [(d.tool, d.message) for d in denied] == [("Bash", "no shell")]

    def test_question_branches_on_the_answer(self, tmp_path: Path) -> None:
        """ask records the answer and runs the matching branch (or '*')."""
        steps = [{"ask": "Which DB?", "options": ["SQLite", "Postgres"], "save_as": "db",
                  "branches": {"sqlite": [{"say": "sqlite path"}], "*": [{"say": "other path"}]}}]
        backend = ScriptedBackend(steps)
        rec = Recorder(answer="SQLite")
        backend.run("p", tmp_path, on_event=rec.on_event, decide=rec.decide)
        assert backend.runs[-1].answers == {"db": "SQLite"}
        assert [e.text for e in rec.events if isinstance(e, TextEvent)] == ["sqlite path"]
        assert isinstance(rec.requests[0], Question) and rec.requests[0].options == ("SQLite", "Postgres")

    def test_permission_step_branches(self, tmp_path: Path) -> None:
        """A permission step runs `denied` steps when refused."""
        steps = [{"permission": "Bash", "input": {"command": "rm -rf /"}, "allowed": [{"say": "ran"}],
                  "denied": [{"say": "skipped"}]}]
        outcome, _ = run(steps, tmp_path)
        assert outcome.final_text == "skipped"  # type: ignore[attr-defined]

    def test_final_question_answered_then_continues(self, tmp_path: Path) -> None:
        """A result that asks goes to the callback; on_answer steps run after an answer."""
        steps = [{"result": "Should I add tests?", "on_answer": [{"write": "t.py", "content": ""}, {"say": "Added."}]}]
        outcome, rec = run(steps, tmp_path, Recorder(answer="yes"))
        assert (tmp_path / "t.py").exists() and outcome.final_text == "Added."  # type: ignore[attr-defined]

    @pytest.mark.parametrize(("step", "kind"), [
        ({"fail": "boom"}, OutcomeKind.ERROR), ({"fail": "bad key", "kind": "auth_failed"}, OutcomeKind.AUTH_FAILED),
        ({"fail": "busy", "kind": "overloaded"}, OutcomeKind.OVERLOADED)])
    def test_failures(self, tmp_path: Path, step: dict[str, str], kind: OutcomeKind) -> None:
        """fail ends the session with the given kind and message."""
        outcome, rec = run([step], tmp_path)
        assert outcome.kind is kind and outcome.reason == step["fail"]  # type: ignore[attr-defined]
        assert isinstance(rec.events[-1], ResultEvent) and rec.events[-1].is_error

    def test_usage_limit_with_reset(self, tmp_path: Path) -> None:
        """usage_limit ends with its reset time (explicit, or parsed from the message)."""
        outcome, _ = run([{"usage_limit": "limit", "reset_at": 1924992000}], tmp_path)
        assert outcome.kind is OutcomeKind.USAGE_LIMIT  # type: ignore[attr-defined]
        assert outcome.reset_at == datetime.fromtimestamp(1924992000, UTC)  # type: ignore[attr-defined]
        outcome, _ = run([{"usage_limit": "Claude AI usage limit reached|1924992000"}], tmp_path)
        assert outcome.reset_at == datetime.fromtimestamp(1924992000, UTC)  # type: ignore[attr-defined]


class TestLimits:
    def test_hang_until_idle_timeout(self, tmp_path: Path) -> None:
        """hang ends with a timeout when nothing happens for idle_timeout_s."""
        start = time.monotonic()
        outcome, _ = run([{"hang": True}], tmp_path, limits=Limits(idle_timeout_s=0.3))
        assert outcome.kind is OutcomeKind.TIMEOUT and time.monotonic() - start < 3  # type: ignore[attr-defined]

    def test_hang_until_stopped(self, tmp_path: Path) -> None:
        """stop() from another thread ends a hanging session as interrupted."""
        backend = ScriptedBackend([{"hang": True}], limits=Limits(idle_timeout_s=0))
        threading.Timer(0.2, backend.stop).start()
        outcome = backend.run("p", tmp_path, on_event=lambda e: None, decide=Recorder().decide)
        assert outcome.kind is OutcomeKind.INTERRUPTED

    def test_a_stop_before_the_run_is_not_lost(self, tmp_path: Path) -> None:
        """stop() between handing the agent over and run() (a daemon's SIGTERM then) ends that run."""
        backend = ScriptedBackend([{"hang": True}], limits=Limits(idle_timeout_s=0))
        backend.stop()
        outcome = backend.run("p", tmp_path, on_event=lambda e: None, decide=Recorder().decide)
        assert outcome.kind is OutcomeKind.INTERRUPTED
        threading.Timer(0.2, backend.stop).start()  # and the flag does not outlive the run it stopped
        assert backend.run("p", tmp_path, on_event=lambda e: None, decide=Recorder().decide).kind \
            is OutcomeKind.INTERRUPTED

    def test_stop_from_a_signal_handler(self, tmp_path: Path) -> None:
        """stop() called from a signal handler in the running thread ends the session."""
        backend = ScriptedBackend([{"hang": True}], limits=Limits(idle_timeout_s=0))
        previous = signal.signal(signal.SIGALRM, lambda signum, frame: backend.stop())
        try:
            signal.setitimer(signal.ITIMER_REAL, 0.2)
            outcome = backend.run("p", tmp_path, on_event=lambda e: None, decide=Recorder().decide)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        assert outcome.kind is OutcomeKind.INTERRUPTED

    def test_max_cost(self, tmp_path: Path) -> None:
        """Reported cost above max_cost_usd stops the session with a limit outcome."""
        outcome, _ = run([{"say": "a", "cost": 2.0}, {"say": "never"}], tmp_path, limits=Limits(max_cost_usd=1.0))
        assert outcome.kind is OutcomeKind.LIMIT and outcome.final_text == ""  # type: ignore[attr-defined]

    def test_slow_decision_is_denied_and_not_idle(self, tmp_path: Path) -> None:
        """A callback slower than decision_timeout_s is denied; waiting does not count as idle."""
        release = threading.Event()

        def slow(request: object) -> Decision:
            release.wait(5)
            return Decision(kind=DecisionKind.ALLOW)  # too late: already denied

        backend = ScriptedBackend([{"run": "touch x", "ask_permission": True}],
                                  limits=Limits(idle_timeout_s=0.1, decision_timeout_s=0.4))
        outcome = backend.run("p", tmp_path, on_event=lambda e: None, decide=slow)  # type: ignore[arg-type]
        release.set()
        assert outcome.kind is OutcomeKind.SUCCESS and not (tmp_path / "x").exists()


class TestScripts:
    def test_load_json_and_toml(self, tmp_path: Path) -> None:
        """Scripts load from JSON and TOML, with resume_steps used on resume."""
        (tmp_path / "s.json").write_text(json.dumps({"session_id": "abc", "steps": [{"say": "hi"}],
                                                     "resume_steps": [{"say": "again"}]}))
        (tmp_path / "s.toml").write_text('session_id = "t"\n[[steps]]\nsay = "from toml"\n')
        assert load_script(tmp_path / "s.toml").steps == ({"say": "from toml"},)
        backend = ScriptedBackend(tmp_path / "s.json")
        rec = Recorder()
        outcome = backend.run("p", tmp_path, on_event=rec.on_event, decide=rec.decide, resume_session_id="abc")
        assert outcome.final_text == "again" and outcome.session_id == "abc"

    def test_scripts_are_used_in_order(self, tmp_path: Path) -> None:
        """Each run takes the next script; the last one repeats."""
        backend = ScriptedBackend([Script.from_obj([{"say": "1"}]), Script.from_obj([{"say": "2"}])])
        texts = [backend.run("p", tmp_path, on_event=lambda e: None, decide=Recorder().decide).final_text
                 for _ in range(3)]
        assert texts == ["1", "2", "2"]

    def test_bad_steps_are_clear_errors(self, tmp_path: Path) -> None:
        """Unknown actions or keys are reported with the step number."""
        with pytest.raises(AgentError, match="step 1"):
            Script.from_obj([{"dance": True}])
        with pytest.raises(AgentError, match="unknown keys"):
            Script.from_obj([{"say": "x", "colour": "red"}])
        with pytest.raises(AgentError, match="escapes"):
            run([{"write": "../outside.txt", "content": ""}], tmp_path)


def test_decisions_keep_the_callers_log_context(tmp_path: Path) -> None:
    """A decision made on a worker thread sees the context variables bound by the caller (log fields)."""
    import structlog

    from coffee_maker.agent.scripted import ScriptedBackend
    from coffee_maker.types import Decision, DecisionKind

    seen: list[object] = []

    def decide(request: object) -> Decision:
        seen.append(structlog.contextvars.get_contextvars().get("priority"))
        return Decision(DecisionKind.ALLOW, source=DecisionSource.parse("test"))

    structlog.contextvars.bind_contextvars(priority="PRIORITY 9")
    try:
        ScriptedBackend([{"permission": "Bash", "input": {"command": "ls"}}, {"result": "ok"}]).run(
            "go", tmp_path, on_event=lambda e: None, decide=decide)
    finally:
        structlog.contextvars.unbind_contextvars("priority")
    assert seen == ["PRIORITY 9"]
