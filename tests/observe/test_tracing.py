"""Tracer against a local OTLP recorder: spans, parents, attributes, no-op mode, never blocking."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from coffee_maker.observe.tracing import Tracer, TracingSettings, usage_details
from coffee_maker.testing.otlp_recorder import OtlpRecorder, RecordedSpan
from coffee_maker.types import Decision, DecisionKind, DecisionSource, SourceKind


def _by_name(spans: list[RecordedSpan]) -> dict[str, RecordedSpan]:
    return {s.name: s for s in spans}


def _run_attempt(tracer: Tracer) -> None:
    with tracer.attempt("PRIORITY 2", attempt=3, branch="roadmap/priority-2") as trace:
        with trace.span("safety_gate", input={"test_command": "pytest"}) as gate:
            gate.end(output={"passed": True, "summary": "ok"})
        trace.set_session("sess-42")
        trace.generation("agent_session", model="claude-sonnet-4-5",
                         usage={"input_tokens": 100, "output_tokens": 20, "cache_read_input_tokens": 7,
                                "cache_creation_input_tokens": 3},
                         cost_usd=0.25, input="do the work", output="done", start=1_700_000_000.0,
                         end=1_700_000_060.0)
        worker = threading.Thread(target=tracer.decision, args=(
            "Allow Bash: rm -rf build", Decision(DecisionKind.DENY, source=DecisionSource.person("slack", "U1"), latency_s=4.0),
            ["slack", "terminal"], 300.0))
        worker.start()
        worker.join()
        trace.decision("Which database?", Decision(DecisionKind.ANSWER, answer="no", source=DecisionSource(SourceKind.TIMEOUT),
                                                   latency_s=300.0, timed_out=True), ["slack"], 300.0)
        with trace.span("commit", input={"message": "feat: x"}) as commit:
            commit.end(output={"sha": "abc"})


@pytest.fixture
def tracer(recorder: OtlpRecorder) -> Iterator[Tracer]:
    t = Tracer.from_config(None, env=recorder.env())
    yield t
    t.shutdown()


class TestTracerWithLangfuse:
    def test_one_trace_per_attempt_with_children_under_the_root(self, tracer: Tracer, recorder: OtlpRecorder) -> None:
        """Every observation of an attempt shares one trace id and hangs under the attempt span."""
        _run_attempt(tracer)
        assert tracer.shutdown(wait_s=10)
        spans = _by_name(recorder.wait_for(6))
        root = spans["attempt"]
        assert root.parent_span_id is None
        assert set(spans) == {"attempt", "safety_gate", "agent_session", "permission", "question", "commit"}
        for name in ("safety_gate", "agent_session", "permission", "question", "commit"):
            assert spans[name].parent_span_id == root.span_id
            assert spans[name].trace_id == root.trace_id

    def test_generation_carries_model_usage_cost_and_times(self, tracer: Tracer, recorder: OtlpRecorder) -> None:
        """The agent session is a generation with the model, token usage (incl. cache) and cost the CLI reported."""
        _run_attempt(tracer)
        tracer.shutdown(wait_s=10)
        gen = _by_name(recorder.wait_for(6))["agent_session"].attributes
        assert gen["langfuse.observation.type"] == "generation"
        assert gen["langfuse.observation.model.name"] == "claude-sonnet-4-5"
        assert json.loads(gen["langfuse.observation.usage_details"]) == {
            "input": 100, "output": 20, "cache_read_input_tokens": 7, "cache_creation_input_tokens": 3, "total": 130}
        assert json.loads(gen["langfuse.observation.cost_details"]) == {"total": 0.25}
        span = _by_name(recorder.spans())["agent_session"]
        assert (span.start_ns, span.end_ns) == (1_700_000_000 * 10**9, 1_700_000_060 * 10**9)

    def test_trace_attributes_and_late_session_id(self, tracer: Tracer, recorder: OtlpRecorder) -> None:
        """Trace name, priority/attempt/branch metadata on every span; the session id from when it arrives, and on the root."""
        _run_attempt(tracer)
        tracer.shutdown(wait_s=10)
        spans = _by_name(recorder.wait_for(6))
        for span in spans.values():
            assert span.attributes["langfuse.trace.name"] == "PRIORITY 2"
            assert json.loads(span.attributes["langfuse.trace.metadata.attempt"]) == 3
            assert json.loads(span.attributes["langfuse.trace.metadata.branch"]) == "roadmap/priority-2"
        assert "session.id" not in spans["safety_gate"].attributes
        for name in ("attempt", "agent_session", "permission", "commit"):
            assert spans[name].attributes["session.id"] == "sess-42"

    def test_decisions_record_request_channels_and_outcome(self, tracer: Tracer, recorder: OtlpRecorder) -> None:
        """A decision's input has the request, channels and timeout; its output the response, method, latency, timeout."""
        _run_attempt(tracer)
        tracer.shutdown(wait_s=10)
        spans = _by_name(recorder.wait_for(6))
        permission = spans["permission"]
        assert json.loads(permission.attributes["langfuse.observation.input"]) == {
            "request": "Allow Bash: rm -rf build", "channels": ["slack", "terminal"], "timeout_s": 300.0}
        output = json.loads(permission.attributes["langfuse.observation.output"])
        assert output["response"] == "deny" and output["method"] == "person:slack:U1" and output["latency_s"] == 4.0
        assert permission.end_ns - permission.start_ns == pytest.approx(4 * 10**9, rel=1e-3)
        question = spans["question"].attributes
        assert json.loads(question["langfuse.observation.output"])["timed_out"] is True
        assert question["langfuse.observation.level"] == "WARNING"

    def test_basic_auth_gzip_and_scope(self, tracer: Tracer, recorder: OtlpRecorder) -> None:
        """Spans arrive gzip'd with the key pair as Basic auth, under the SDK's scope and our public key."""
        _run_attempt(tracer)
        tracer.shutdown(wait_s=10)
        span = recorder.wait_for(6)[0]
        assert recorder.rejected == 0
        assert recorder.requests[0].get("Content-Encoding") == "gzip"
        assert span.scope == "langfuse-sdk" and span.scope_attributes["public_key"] == recorder.public_key

    def test_exception_marks_span_and_root_as_error(self, tracer: Tracer, recorder: OtlpRecorder) -> None:
        """A step that raises ends its span and the attempt at level ERROR with the reason."""
        with pytest.raises(RuntimeError):
            with tracer.attempt("PRIORITY 1", attempt=1) as trace, trace.span("push"):
                raise RuntimeError("remote rejected")
        tracer.shutdown(wait_s=10)
        spans = _by_name(recorder.wait_for(2))
        assert spans["push"].attributes["langfuse.observation.level"] == "ERROR"
        assert "remote rejected" in spans["attempt"].attributes["langfuse.observation.status_message"]

    def test_a_second_tracer_with_the_same_key_after_shutdown_still_exports(self, recorder: OtlpRecorder) -> None:
        """A configuration reload builds a new tracer with the same key; its spans are not lost."""
        for attempt in (1, 2):
            tracer = Tracer.from_config(None, env=recorder.env())
            with tracer.attempt("PRIORITY 1", attempt=attempt):
                pass
            assert tracer.shutdown(wait_s=10)
        assert len(recorder.wait_for(2)) == 2


class TestTracerWithoutKeys:
    def test_no_keys_is_a_noop_with_one_info_line(self) -> None:
        """Without LANGFUSE keys the tracer says so once at info level and every call does nothing."""
        with structlog.testing.capture_logs() as logs:
            tracer = Tracer.from_config(None, env={})
        assert not tracer.enabled
        assert [(e["log_level"], "LANGFUSE_PUBLIC_KEY" in e["event"]) for e in logs] == [("info", True)]
        with tracer.attempt("PRIORITY 1", attempt=1) as trace:
            trace.set_session("s")
            with trace.span("safety_gate") as span:
                span.end(output={"passed": True})
            trace.generation("agent_session", model=None, usage={}, cost_usd=0.0)
            tracer.decision("q", Decision(DecisionKind.ALLOW), [], 1.0)
        assert tracer.flush() is None
        assert tracer.shutdown() is True

    def test_disabled_in_config_wins_over_keys(self, recorder: OtlpRecorder, tmp_path: Any) -> None:
        """``[observe] langfuse = false`` turns tracing off even when the keys are set."""
        from coffee_maker.config import load_config

        (tmp_path / "coffee_maker.toml").write_text("[observe]\nlangfuse = false\n")
        tracer = Tracer.from_config(load_config(str(tmp_path)), env=recorder.env())
        assert not tracer.enabled


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TestUnreachableLangfuse:
    def test_attempt_returns_while_the_export_is_still_waiting(self, recorder: OtlpRecorder) -> None:
        """The attempt ends and returns while the exporter's request is still unanswered (flush runs off-thread)."""
        tracer = Tracer(TracingSettings(recorder.public_key, recorder.secret_key, recorder.base_url,
                                        export_timeout_s=30, shutdown_wait_s=0.0))
        with recorder.hold():
            with tracer.attempt("PRIORITY 1", attempt=1) as trace, trace.span("commit") as span:
                span.end(output={"sha": "abc"})
            flusher = tracer.flush()
            assert flusher is not None
            assert recorder.wait_for_arrival()
            assert flusher.is_alive(), "the export is held by the recorder, yet the attempt already returned"
            assert recorder.spans() == []
        flusher.join(30)
        assert {s.name for s in recorder.wait_for(2)} == {"attempt", "commit"}
        tracer.shutdown(wait_s=10)

    def test_closed_port_shutdown_is_bounded(self) -> None:
        """Against a closed port the traced code runs normally and shutdown gives up after its bounded wait."""
        port = _closed_port()
        tracer = Tracer(TracingSettings("pk-lf-closed", "sk-lf-closed", f"http://127.0.0.1:{port}",
                                        export_timeout_s=5))
        with tracer.attempt("PRIORITY 1", attempt=1) as trace:
            with trace.span("safety_gate") as span:
                span.end(output={"passed": True})
            trace.decision("q", Decision(DecisionKind.ALLOW, source=DecisionSource.rule("r")), [], 1.0)
        logging.getLogger("opentelemetry").setLevel(logging.CRITICAL)
        assert tracer.shutdown(wait_s=0.0) is False


class TestUsageDetails:
    def test_claude_usage_maps_to_langfuse_names(self) -> None:
        """input/output tokens become input/output, cache counts stay, non-numbers are dropped, total is added."""
        assert usage_details({"input_tokens": 3, "output_tokens": 4, "cache_read_input_tokens": 5,
                              "service_tier": "standard"}) == {
            "input": 3, "output": 4, "cache_read_input_tokens": 5, "total": 12}
