"""The generic CLI backend against fake codex, gemini and aider executables."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from coffee_maker.agent.base import Limits
from coffee_maker.agent.cli_presets import PRESETS, get_path, map_object
from coffee_maker.agent.events import (
    InitEvent,
    ResultEvent,
    TextEvent,
    ToolResultEvent,
    ToolUseEvent,
)
from coffee_maker.agent.generic_cli import GenericCliBackend, build_argv, cli_spec
from coffee_maker.config.agent import AgentSettings
from coffee_maker.errors import AgentError
from coffee_maker.types import OutcomeKind

from .conftest import FAKE_CLIS, Recorder

CLIS = ("codex", "gemini", "aider")


def backend(name: str, *, model: str | None = None, limits: Limits | None = None) -> GenericCliBackend:
    # The fakes read their scenario and log path from the environment, which the agent gets only by name.
    settings = AgentSettings.model_validate({"backend": name, "model": model, "pass_env": ["FAKE_CLI_*"]})
    return GenericCliBackend(name, settings=settings, binary=str(FAKE_CLIS / name),
                             limits=limits or Limits(idle_timeout_s=20, total_timeout_s=30, max_followups=2))


@pytest.fixture
def cli_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FAKE_CLI_LOG", str(log))
    return log


def calls(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


class TestArgv:
    def test_substitutes_and_drops_an_unset_model(self, tmp_path: Path) -> None:
        """`-m {model}` disappears without a model; {prompt} and {session_id} are filled in."""
        argv = build_argv(["x", "-m", "{model}", "resume", "{session_id}", "{prompt}"], prompt="do it",
                          session_id="abc", model=None, cwd=tmp_path)
        assert argv == ["x", "resume", "abc", "do it"]

    def test_unknown_cli_is_a_clear_error(self) -> None:
        """An unknown backend name names the known ones."""
        with pytest.raises(AgentError, match="codex"):
            cli_spec("nope")

    def test_configured_entry_replaces_a_preset(self) -> None:
        """[agent.cli.codex] wins over the built-in codex entry."""
        settings = AgentSettings.model_validate({"cli": {"codex": {"command": ["my-codex", "{prompt}"]}}})
        assert cli_spec("codex", settings).command == ["my-codex", "{prompt}"]


class TestMapping:
    def test_codex_item_lines_become_typed_events(self) -> None:
        """Codex command items map to tool_use/tool_result and agent messages to text."""
        events = PRESETS["codex"].events
        started = map_object({"type": "item.started", "item": {"id": "i", "type": "command_execution",
                                                               "command": "ls", "status": "in_progress"}}, events)
        assert isinstance(started, ToolUseEvent) and started.input == {"command": "ls"} and started.name == "Bash"
        done = map_object({"type": "item.completed", "item": {"id": "i", "type": "command_execution",
                                                              "aggregated_output": "x", "status": "failed"}}, events)
        assert isinstance(done, ToolResultEvent) and done.is_error and done.content == "x"
        assert map_object({"type": "turn.failed", "error": {"message": "boom"}}, events) == "boom"

    def test_unknown_lines_are_raw(self) -> None:
        """A line no mapping matches is passed on as a raw event."""
        event = map_object({"type": "brand.new"}, PRESETS["gemini"].events)
        assert event is not None and not isinstance(event, str) and event.type == "raw"
        assert get_path({"a": {"b": 1}}, "a.c") is None


@pytest.mark.parametrize("name", CLIS)
class TestFakeClis:
    def test_a_session_edits_and_succeeds(self, name: str, tmp_path: Path, cli_log: Path) -> None:
        """The CLI runs with its headless flags, edits the tree, and the outcome is success."""
        rec = Recorder()
        outcome = backend(name).run("make the file", tmp_path, on_event=rec.on_event, decide=rec.decide)
        assert outcome.kind is OutcomeKind.SUCCESS, outcome.reason
        assert (tmp_path / f"{name}_was_here").read_text() == "make the file"
        assert any(isinstance(e, TextEvent) for e in rec.events)
        if name != "aider":
            assert outcome.session_id and isinstance(rec.events[0], InitEvent)
            assert any(isinstance(e, ToolUseEvent) for e in rec.events)
            assert any(isinstance(e, ResultEvent) for e in rec.events)
        assert calls(cli_log)[0]["cwd"] == str(tmp_path)

    def test_a_final_question_is_answered_by_resuming(self, name: str, tmp_path: Path, cli_log: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
        """A final text ending with '?' goes to the callback; the answer resumes the same session."""
        monkeypatch.setenv("FAKE_CLI_SCENARIO", "question")
        rec = Recorder(answer="Yes, add tests.")
        outcome = backend(name).run("make the file", tmp_path, on_event=rec.on_event, decide=rec.decide)
        assert outcome.kind is OutcomeKind.SUCCESS
        assert [r.text for r in rec.requests] == ["Should I also add tests?"]
        second = calls(cli_log)[1]["argv"]
        assert "Yes, add tests." in second
        if name == "codex":
            assert "resume" in second and outcome.session_id in second
        elif name == "gemini":
            assert second[second.index("--resume") + 1] == outcome.session_id
        else:
            assert "--restore-chat-history" in second

    def test_usage_limit_is_recognised(self, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """The entry's usage-limit regex turns the CLI's quota message into usage_limit."""
        monkeypatch.setenv("FAKE_CLI_SCENARIO", "usage_limit")
        rec = Recorder()
        outcome = backend(name).run("x", tmp_path, on_event=rec.on_event, decide=rec.decide)
        assert outcome.kind is OutcomeKind.USAGE_LIMIT, outcome.reason
        if name == "codex":
            assert outcome.reset_at is not None  # "Try again in 2h 5m"

    def test_idle_timeout_kills_the_whole_group(self, name: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
        """A hung CLI is stopped by the idle timeout and no process of its group survives."""
        monkeypatch.setenv("FAKE_CLI_SCENARIO", "hang")
        rec = Recorder()
        agent = backend(name, limits=Limits(idle_timeout_s=3.0, total_timeout_s=20))  # 3 s: a loaded machine starts Python slowly
        start = time.monotonic()
        outcome = agent.run("x", tmp_path, on_event=rec.on_event, decide=rec.decide)
        assert outcome.kind is OutcomeKind.TIMEOUT and "idle" in outcome.reason
        assert time.monotonic() - start < 15
        leader, child, pgid = (int(x) for x in (tmp_path / "hang.pids").read_text().split())
        assert pgid == leader
        assert_group_gone(pgid)

    def test_a_stop_before_the_run_is_not_lost(self, name: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
        """stop() after the daemon has the agent but before run(): the run ends at once, not at the idle timeout."""
        monkeypatch.setenv("FAKE_CLI_SCENARIO", "hang")
        rec = Recorder()
        agent = backend(name, limits=Limits(idle_timeout_s=60, total_timeout_s=120))
        agent.stop()
        outcome = agent.run("x", tmp_path, on_event=rec.on_event, decide=rec.decide)
        assert outcome.kind is OutcomeKind.INTERRUPTED, outcome.reason


def assert_group_gone(pgid: int) -> None:
    """No process of the group is left (os.killpg(pgid, 0) finds nothing)."""
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail(f"process group {pgid} survived the stop")


def test_missing_binary_is_an_agent_error(tmp_path: Path) -> None:
    """A CLI that is not installed gives one sentence naming it."""
    agent = GenericCliBackend("codex", binary=str(tmp_path / "no-such-codex"))
    rec = Recorder()
    with pytest.raises(AgentError, match="no-such-codex"):
        agent.run("x", tmp_path, on_event=rec.on_event, decide=rec.decide)


def test_auth_failure_is_its_own_outcome(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CLI that says it is not logged in ends with auth_failed."""
    monkeypatch.setenv("FAKE_CLI_SCENARIO", "auth")
    rec = Recorder()
    outcome = backend("codex").run("x", tmp_path, on_event=rec.on_event, decide=rec.decide)
    assert outcome.kind is OutcomeKind.AUTH_FAILED


def test_configured_cli_with_prompt_on_stdin_and_one_json_document(tmp_path: Path) -> None:
    """An [agent.cli.*] entry: prompt on stdin, a single JSON document mapped to a result."""
    program = ("import json, sys; prompt = sys.stdin.read(); "
               "print(json.dumps({'session_id': 's-1', 'response': 'echo: ' + prompt, 'stats': {'turns': 2}}))")
    settings = AgentSettings.model_validate({"backend": "echo", "cli": {"echo": {
        "command": ["python3", "-c", program], "prompt_via": "stdin", "output": "json",
        "events": [{"when": {}, "event": "result", "fields": {"session_id": "session_id", "text": "response",
                                                               "num_turns": "stats.turns"}}]}}})
    rec = Recorder()
    outcome = GenericCliBackend("echo", settings=settings).run("hello", tmp_path, on_event=rec.on_event,
                                                               decide=rec.decide)
    assert outcome.kind is OutcomeKind.SUCCESS and outcome.num_turns == 2 and outcome.session_id == "s-1"
    assert outcome.final_text == "echo: hello"
    result = rec.events[-1]
    assert isinstance(result, ResultEvent) and result.text == "echo: hello"
