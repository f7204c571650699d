"""The real daemon on the demo sandbox, traced into the OTLP recorder and counted in the telemetry store."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
import structlog

from coffee_maker.demo import build_sandbox
from coffee_maker.observe.logging import LOG_FILE_NAME, configure_logging
from coffee_maker.observe.stats import compute
from coffee_maker.observe.telemetry import TelemetryStore
from coffee_maker.testing.daemon_run import run_until_settled
from coffee_maker.testing.otlp_recorder import OtlpRecorder


@pytest.fixture
def traced_run(tmp_path: Path, recorder: OtlpRecorder, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two priorities run to PRs with Langfuse pointed at the recorder; an escalated question is answered."""
    for key, value in recorder.env().items():
        monkeypatch.setenv(key, value)
    project = build_sandbox(tmp_path / "sandbox")
    configure_logging("warning", log_dir=tmp_path / "logs", stream=io.StringIO())
    try:
        assert run_until_settled(project, settled=2, timeout_s=90, answer_delay_s=0.3) == 0
    finally:
        _remove_handlers()
    return project


def _remove_handlers() -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_coffee_maker", False):
            root.removeHandler(handler)
            handler.close()
    structlog.reset_defaults()


class TestDaemonObservability:
    def test_each_attempt_is_one_trace_with_the_pipeline_steps(self, traced_run: Path, recorder: OtlpRecorder) -> None:
        """Each priority's attempt is a trace whose children are the session, decisions, gate, commit, push and PR."""
        spans = recorder.wait_for(14, timeout=30)
        roots = {s.attributes["langfuse.trace.name"]: s for s in spans if s.parent_span_id is None}
        assert set(roots) == {"PRIORITY 1", "PRIORITY 2"}
        for priority, root in roots.items():
            children = [s for s in spans if s.trace_id == root.trace_id and s.parent_span_id == root.span_id]
            names = {s.name for s in children}
            assert {"agent_session", "safety_gate", "commit", "push", "pull_request"} <= names, (priority, names)
            generation = next(s for s in children if s.name == "agent_session")
            assert generation.attributes["langfuse.observation.type"] == "generation"
            assert "session.id" in generation.attributes
        decisions = [s for s in spans if s.name in ("permission", "question")]
        assert decisions and all(s.parent_span_id in {r.span_id for r in roots.values()} for s in decisions)

    def test_telemetry_has_attempts_interactions_notifications_and_prs(self, traced_run: Path) -> None:
        """The daemon's writes reach the store: two successful attempts, the interactions, notifications, PRs."""
        store = TelemetryStore(traced_run / ".coffee_maker" / "telemetry.db")
        stats = compute(store)
        store.close()
        assert stats["attempts"]["by_outcome"] == {"pr_open": 2}
        assert stats["interactions"]["total"] >= 3 and stats["interactions"]["escalated"] >= 1
        assert stats["notifications_by_channel"], stats
        assert stats["pull_requests_by_state"] == {"pr_open": 2}
        json.dumps(stats)

    def test_log_file_lines_carry_the_attempt_context(self, traced_run: Path) -> None:
        """Lines the daemon logs during an attempt carry priority, attempt, phase and session id in the JSON log file."""
        log_file = traced_run.parent.parent / "logs" / LOG_FILE_NAME
        lines = [json.loads(line) for line in log_file.read_text().splitlines()]
        ended = [line for line in lines if line.get("event") == "agent session ended"]
        assert ended and all(line.get("priority") and line.get("attempt") and line.get("phase")
                             and line.get("session_id") for line in ended), ended
