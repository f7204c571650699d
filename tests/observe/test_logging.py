"""Logging: attempt context on every JSON line, rotation, a quiet readable console."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from coffee_maker.observe.context import (
    attempt_context,
    bind_context,
    current_context,
    set_phase,
    set_session,
)
from coffee_maker.observe.logging import LOG_FILE_NAME, configure_logging
from coffee_maker.observe.tracing import Tracer


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_coffee_maker", False):
            root.removeHandler(handler)
            handler.close()
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class TestAttemptContext:
    def test_json_lines_carry_priority_attempt_phase_and_session(self, tmp_path: Path) -> None:
        """Inside an attempt, every line in the JSON file has priority, attempt, phase and (once known) session id."""
        log_file = configure_logging("info", log_dir=tmp_path, stream=io.StringIO())
        assert log_file is not None
        log = structlog.get_logger("coffee_maker.test")
        with attempt_context("PRIORITY 2", 3):
            log.info("started")
            set_phase("agent_running")
            set_session("sess-1")
            log.info("agent said something")
            logging.getLogger("stdlib.lib").warning("a stdlib line")
        log.info("after")
        lines = _lines(log_file)
        assert lines[0]["priority"] == "PRIORITY 2" and lines[0]["attempt"] == 3 and lines[0]["phase"] == "starting"
        assert "session_id" not in lines[0]
        assert (lines[1]["phase"], lines[1]["session_id"]) == ("agent_running", "sess-1")
        assert (lines[2]["event"], lines[2]["priority"]) == ("a stdlib line", "PRIORITY 2")
        assert "priority" not in lines[3] and "session_id" not in lines[3]

    def test_context_is_restored_after_an_exception(self) -> None:
        """A crashed attempt does not leak its fields into the next one."""
        with pytest.raises(RuntimeError), attempt_context("PRIORITY 1", 1):
            set_session("s")
            raise RuntimeError("boom")
        assert current_context() == {}

    def test_worker_thread_can_rebind_the_attempt_fields(self, tmp_path: Path) -> None:
        """Fields captured with current_context are re-bound in a worker thread with bind_context."""
        log_file = configure_logging("info", log_dir=tmp_path, stream=io.StringIO())
        assert log_file is not None
        with attempt_context("PRIORITY 4", 1):
            fields = current_context()

            def work() -> None:
                with bind_context(fields):
                    structlog.get_logger().info("from a worker")

            thread = threading.Thread(target=work)
            thread.start()
            thread.join()
        assert _lines(log_file)[0]["priority"] == "PRIORITY 4"

    def test_tracer_attempt_binds_the_log_context(self, tmp_path: Path) -> None:
        """The tracer's attempt (even the no-op one) binds priority and attempt; sessions and spans add session id and phase."""
        log_file = configure_logging("info", log_dir=tmp_path, stream=io.StringIO())
        assert log_file is not None
        tracer = Tracer(None)
        with tracer.attempt("PRIORITY 5", attempt=2) as trace:
            trace.set_session("sess-9")
            structlog.get_logger().info("inside")
            with trace.span("safety_gate"):
                structlog.get_logger().info("gate running")
            structlog.get_logger().info("after the gate")
        lines = _lines(log_file)
        assert (lines[0]["priority"], lines[0]["attempt"], lines[0]["session_id"]) == ("PRIORITY 5", 2, "sess-9")
        assert [line["phase"] for line in lines] == ["starting", "safety_gate", "starting"]


class TestFilesAndConsole:
    def test_json_file_rotates(self, tmp_path: Path) -> None:
        """Past max_bytes the file rolls over to .1, .2 … and keeps at most `backups` old files."""
        log_file = configure_logging("info", log_dir=tmp_path, stream=io.StringIO(), max_bytes=2_000, backups=2)
        assert log_file is not None
        log = structlog.get_logger()
        for i in range(200):
            log.info("filler line", n=i, padding="x" * 50)
        names = sorted(p.name for p in tmp_path.iterdir())
        assert names == [LOG_FILE_NAME, f"{LOG_FILE_NAME}.1", f"{LOG_FILE_NAME}.2"]
        assert all(p.stat().st_size <= 2_000 for p in tmp_path.iterdir())
        assert _lines(log_file)[-1]["n"] == 199

    def test_console_is_quiet_and_readable(self, tmp_path: Path) -> None:
        """The console shows info and up as plain text (no JSON, no colours off a terminal); debug goes to the file only."""
        out = io.StringIO()
        log_file = configure_logging("info", log_dir=tmp_path, stream=out)
        assert log_file is not None
        log = structlog.get_logger()
        log.debug("details nobody needs")
        log.info("working on priority", priority="PRIORITY 1")
        logging.getLogger("httpx").info("HTTP Request: POST …")
        text = out.getvalue()
        assert "working on priority" in text and "PRIORITY 1" in text and "tests.observe" not in text
        assert "details nobody needs" not in text and "HTTP Request" not in text
        assert "\x1b[" not in text and not text.lstrip().startswith("{")
        assert any(line["event"] == "details nobody needs" for line in _lines(log_file))
