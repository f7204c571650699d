"""The Claude Code backend against the real `claude` CLI and a fake Anthropic API on loopback."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from coffee_maker.agent.base import Limits
from coffee_maker.agent.claude import ClaudeCodeBackend
from coffee_maker.agent.events import InitEvent, PermissionDeniedEvent, ResultEvent, ToolResultEvent
from coffee_maker.config.agent import AgentSettings
from coffee_maker.errors import AgentError
from coffee_maker.testing.fake_anthropic import FakeAnthropic, Turn
from coffee_maker.types import Decision, DecisionKind, OutcomeKind, PermissionRequest, Question

from .conftest import Recorder

pytestmark = pytest.mark.claude_cli
RULED = "python3 -c \"open('ruled.txt', 'w')\""
OTHER = "python3 -c \"open('other.txt', 'w')\""
LIMITS = Limits(idle_timeout_s=20, total_timeout_s=60, decision_timeout_s=20, max_followups=2)


def backend(binary: str, api: FakeAnthropic, limits: Limits = LIMITS, **settings: Any) -> ClaudeCodeBackend:
    s = AgentSettings.model_validate({"binary": binary, "auth": "api_key", **settings})
    return ClaudeCodeBackend(s, env=api.cli_env(), limits=limits, kill_grace_s=2.0)


def tool_results(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool_result blocks of the last user message of a model request."""
    content = request["messages"][-1]["content"]
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]


def user_texts(request: dict[str, Any]) -> list[str]:
    texts: list[str] = []
    for message in request["messages"]:
        if message["role"] != "user":
            continue
        content = message["content"]
        if isinstance(content, str):
            texts.append(content)
        else:
            texts += [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
    return texts


def processes_with(marker: str) -> list[int]:
    """Pids whose command line contains ``marker`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


class TestSession:
    def test_edit_and_shell_command(self, claude_bin: str, tmp_path: Path) -> None:
        """A Write and a Bash call run after being allowed; the outcome carries id, cost and turns."""
        turns = [Turn.tool("Write", {"file_path": str(tmp_path / "hello.txt"), "content": "hello\n"}),
                 Turn.tool("Bash", {"command": "cp hello.txt copy.txt", "description": "copy"}),
                 Turn.say("All done.")]
        rec = Recorder(allow=("Write", "Bash"))
        with FakeAnthropic(turns) as api:
            outcome = backend(claude_bin, api).run("Make hello.txt", tmp_path, on_event=rec.on_event,
                                                   decide=rec.decide)
        assert outcome.kind is OutcomeKind.SUCCESS, outcome.reason
        assert (tmp_path / "copy.txt").read_text() == "hello\n"
        assert outcome.session_id and outcome.cost_usd > 0 and outcome.num_turns == 3
        assert outcome.final_text == "All done." and outcome.usage["input_tokens"] == 300
        assert isinstance(rec.events[0], InitEvent) and rec.events[0].session_id == outcome.session_id
        assert [r.tool for r in rec.requests if isinstance(r, PermissionRequest)] == ["Write", "Bash"]
        assert rec.types()[-1] == "result"

    def test_allowed_and_denied_permissions(self, claude_bin: str, tmp_path: Path) -> None:
        """An allowed call runs; a denied one does not, and the model reads the denial message."""
        turns = [Turn.tool("Bash", {"command": "touch allowed.txt", "description": "ok"}),
                 Turn.tool("Bash", {"command": "touch denied.txt", "description": "no"}),
                 Turn.say("Understood.")]

        def decide(request: PermissionRequest | Question) -> Decision:
            assert isinstance(request, PermissionRequest)
            if "allowed" in request.input["command"]:
                return Decision(kind=DecisionKind.ALLOW)
            return Decision(kind=DecisionKind.DENY, message="Not this file, please.")

        rec = Recorder()
        with FakeAnthropic(turns) as api:
            outcome = backend(claude_bin, api).run("go", tmp_path, on_event=rec.on_event, decide=decide)
            denial = tool_results(api.model_requests[2])
        assert outcome.kind is OutcomeKind.SUCCESS
        assert (tmp_path / "allowed.txt").exists() and not (tmp_path / "denied.txt").exists()
        assert denial[0]["is_error"] and "Not this file, please." in json.dumps(denial[0]["content"])
        denied = [e for e in rec.events if isinstance(e, PermissionDeniedEvent)]
        assert [d.message for d in denied] == ["Not this file, please."]

    def test_settings_rules_settle_calls_without_asking(self, claude_bin: str, tmp_path: Path) -> None:
        """acceptEdits and an allow rule with a space run their calls without a permission request."""
        turns = [Turn.tool("Write", {"file_path": str(tmp_path / "a.txt"), "content": "x"}),
                 Turn.tool("Bash", {"command": RULED, "description": "x"}),
                 Turn.tool("Bash", {"command": OTHER, "description": "x"}), Turn.say("ok")]
        rec = Recorder()
        with FakeAnthropic(turns) as api:
            backend(claude_bin, api, permission_mode="acceptEdits",
                    allowed_tools=[f"Bash({RULED})"]).run("go", tmp_path, on_event=rec.on_event,
                                                                 decide=rec.decide)
        assert (tmp_path / "a.txt").exists() and (tmp_path / "ruled.txt").exists()
        assert not (tmp_path / "other.txt").exists()
        assert [r.input["command"] for r in rec.requests if isinstance(r, PermissionRequest)] == [OTHER]

    def test_edited_input_is_what_runs(self, claude_bin: str, tmp_path: Path) -> None:
        """Allow with updated input: the CLI runs the edited command, not the requested one."""
        turns = [Turn.tool("Bash", {"command": "touch asked.txt", "description": "x"}), Turn.say("ok")]

        def decide(request: PermissionRequest | Question) -> Decision:
            return Decision(kind=DecisionKind.ALLOW, updated_input={"command": "touch edited.txt"})

        with FakeAnthropic(turns) as api:
            backend(claude_bin, api).run("go", tmp_path, on_event=lambda e: None, decide=decide)
        assert (tmp_path / "edited.txt").exists() and not (tmp_path / "asked.txt").exists()

    def test_final_question_is_answered_in_the_same_session(self, claude_bin: str, tmp_path: Path) -> None:
        """A final text ending with '?' goes to the callback; the answer continues the same session."""
        turns = [Turn.say("I can do A or B.\n\nShould I use SQLite?"), Turn.say("Used SQLite.")]
        rec = Recorder(answer="Yes, SQLite.")
        with FakeAnthropic(turns) as api:
            outcome = backend(claude_bin, api).run("go", tmp_path, on_event=rec.on_event, decide=rec.decide)
            second = api.model_requests[1]
        assert [r.text for r in rec.requests] == ["Should I use SQLite?"]
        assert "Yes, SQLite." in user_texts(second) and "go" in user_texts(second)
        results = [e for e in rec.events if isinstance(e, ResultEvent)]
        assert len(results) == 2 and results[0].session_id == results[1].session_id == outcome.session_id
        assert outcome.kind is OutcomeKind.SUCCESS and outcome.final_text == "Used SQLite."

    def test_ask_user_question_tool_gets_the_answer(self, claude_bin: str, tmp_path: Path) -> None:
        """AskUserQuestion reaches the callback as a Question; the model sees the answer."""
        ask = {"questions": [{"question": "Which database?", "header": "DB", "multiSelect": False,
                              "options": [{"label": "SQLite", "description": "a file"},
                                          {"label": "Postgres", "description": "a server"}]}]}
        rec = Recorder(answer="SQLite")
        with FakeAnthropic([Turn.tool("AskUserQuestion", ask), Turn.say("Going with SQLite.")]) as api:
            backend(claude_bin, api).run("go", tmp_path, on_event=rec.on_event, decide=rec.decide)
            result = tool_results(api.model_requests[1])[0]
        question = rec.requests[0]
        assert isinstance(question, Question) and question.source == "ask_user_question"
        assert question.options == ("SQLite", "Postgres")
        assert '"Which database?"="SQLite"' in json.dumps(result["content"], ensure_ascii=False).replace('\\"', '"')

    def test_resume_after_the_process_ended(self, claude_bin: str, tmp_path: Path) -> None:
        """--resume continues a finished session: the model sees the earlier turns."""
        with FakeAnthropic([Turn.say("First answer."), Turn.say("Second answer.")]) as api:
            agent = backend(claude_bin, api)
            first = agent.run("first prompt", tmp_path, on_event=lambda e: None, decide=Recorder().decide)
            second = agent.run("second prompt", tmp_path, on_event=lambda e: None, decide=Recorder().decide,
                               resume_session_id=first.session_id)
            history = user_texts(api.model_requests[1])
        assert second.kind is OutcomeKind.SUCCESS and second.session_id == first.session_id
        assert "first prompt" in history and "second prompt" in history

    def test_a_decision_nobody_makes_is_denied_in_time(self, claude_bin: str, tmp_path: Path) -> None:
        """A callback that never returns: the request is denied at the deadline and the model told so."""
        release = threading.Event()

        def decide(request: PermissionRequest | Question) -> Decision:
            release.wait(30)
            return Decision(kind=DecisionKind.ALLOW)

        # The idle timeout is shorter than the decision timeout, but long enough that the CLI's own
        # answer after the denial arrives within it on a loaded 2-core machine (1 s did not).
        limits = Limits(idle_timeout_s=3.0, total_timeout_s=60, decision_timeout_s=6.0)
        turns = [Turn.tool("Bash", {"command": "touch late.txt", "description": "x"}), Turn.say("ok")]
        with FakeAnthropic(turns) as api:
            outcome = backend(claude_bin, api, limits).run("go", tmp_path, on_event=lambda e: None, decide=decide)
            denial = tool_results(api.model_requests[1])[0]
        release.set()
        # the idle timeout (3 s) did not fire while the decision was pending (6 s)
        assert outcome.kind is OutcomeKind.SUCCESS, outcome.reason
        assert "No decision arrived within 6s" in json.dumps(denial["content"])
        assert not (tmp_path / "late.txt").exists()


    def test_a_stuck_callback_does_not_starve_later_requests(self, claude_bin: str, tmp_path: Path) -> None:
        """After a request times out in a stuck callback, the next request is still decided."""
        release = threading.Event()

        def decide(request: PermissionRequest | Question) -> Decision:
            assert isinstance(request, PermissionRequest)
            if "stuck" in request.input["command"]:
                release.wait(30)
            return Decision(kind=DecisionKind.ALLOW)

        turns = [Turn.tool("Bash", {"command": "touch stuck.txt", "description": "x"}),
                 Turn.tool("Bash", {"command": "touch next.txt", "description": "x"}), Turn.say("ok")]
        limits = Limits(idle_timeout_s=10, total_timeout_s=30, decision_timeout_s=1.0)
        with FakeAnthropic(turns) as api:
            outcome = backend(claude_bin, api, limits).run("go", tmp_path, on_event=lambda e: None, decide=decide)
        release.set()
        assert outcome.kind is OutcomeKind.SUCCESS
        assert (tmp_path / "next.txt").exists() and not (tmp_path / "stuck.txt").exists()


class TestFailures:
    @pytest.mark.parametrize(("turn", "kind"), [
        (Turn.error(500, "api_error", "Internal server error"), OutcomeKind.ERROR),
        (Turn.error(529, "overloaded_error", "Overloaded"), OutcomeKind.OVERLOADED),
        (Turn.error(401, "authentication_error", "invalid x-api-key"), OutcomeKind.AUTH_FAILED),
        (Turn.error(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
         OutcomeKind.RATE_LIMIT),
    ], ids=["500", "529", "401", "429"])
    def test_api_errors_are_distinct_outcomes(self, claude_bin: str, tmp_path: Path, turn: Turn,
                                              kind: OutcomeKind) -> None:
        """Each API failure ends the session with its own outcome kind."""
        with FakeAnthropic([turn]) as api:
            outcome = backend(claude_bin, api).run("go", tmp_path, on_event=lambda e: None, decide=Recorder().decide)
        assert outcome.kind is kind, outcome.reason
        assert outcome.is_error and outcome.session_id

    def test_usage_limit_with_reset_time(self, claude_bin: str, tmp_path: Path) -> None:
        """A usage-limit rejection is usage_limit, with the reset time parsed from the message."""
        turn = Turn.error(429, "rate_limit_error", "You've hit your 5-hour limit · resets 3pm (UTC)",
                          {"anthropic-ratelimit-unified-status": "rejected"})
        with FakeAnthropic([turn]) as api:
            outcome = backend(claude_bin, api).run("go", tmp_path, on_event=lambda e: None, decide=Recorder().decide)
        assert outcome.kind is OutcomeKind.USAGE_LIMIT, outcome.reason
        assert outcome.reset_at is not None and (outcome.reset_at.hour, outcome.reset_at.minute) == (15, 0)

    def test_usage_limit_notice_as_final_text(self, claude_bin: str, tmp_path: Path) -> None:
        """The older `Claude AI usage limit reached|<epoch>` result text is usage_limit with that reset."""
        with FakeAnthropic([Turn.say("Claude AI usage limit reached|1924992000")]) as api:
            outcome = backend(claude_bin, api).run("go", tmp_path, on_event=lambda e: None, decide=Recorder().decide)
        assert outcome.kind is OutcomeKind.USAGE_LIMIT
        assert outcome.reset_at is not None and int(outcome.reset_at.timestamp()) == 1924992000

    def test_hung_model_is_stopped_and_leaves_no_orphan(self, claude_bin: str, tmp_path: Path) -> None:
        """The idle timeout interrupts, then kills the whole process group; a background child dies too."""
        marker = f"cm-orphan-check-{os.getpid()}-{time.monotonic_ns()}"
        command = f"python3 -c 'import time; time.sleep(60)' {marker}"
        turns = [Turn.tool("Bash", {"command": command, "run_in_background": True, "description": "bg"}),
                 Turn.stall()]
        groups: list[int] = []
        rec = Recorder(allow=("Bash",))
        with FakeAnthropic(turns) as api:
            agent = backend(claude_bin, api, Limits(idle_timeout_s=2.0, total_timeout_s=30))

            def on_event(event: Any) -> None:
                rec.on_event(event)
                if isinstance(event, ToolResultEvent):
                    groups.append(agent._current.proc.pgid)

            start = time.monotonic()
            outcome = agent.run("go", tmp_path, on_event=on_event, decide=rec.decide)
        assert outcome.kind is OutcomeKind.TIMEOUT and "idle" in outcome.reason
        assert time.monotonic() - start < 15
        assert groups and not group_alive(groups[0])
        deadline = time.monotonic() + 3
        while processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes_with(marker) == []

    def test_stop_from_another_thread(self, claude_bin: str, tmp_path: Path) -> None:
        """stop() during a hung turn ends the session as interrupted."""
        with FakeAnthropic([Turn.stall()]) as api:
            agent = backend(claude_bin, api)

            def on_event(event: Any) -> None:
                if isinstance(event, InitEvent):  # the turn is under way: stop it from another thread
                    threading.Timer(0.5, agent.stop).start()

            outcome = agent.run("go", tmp_path, on_event=on_event, decide=Recorder().decide)
        assert outcome.kind is OutcomeKind.INTERRUPTED and outcome.session_id

    def test_a_stop_before_the_run_is_not_lost(self, claude_bin: str, tmp_path: Path) -> None:
        """stop() after the daemon has the agent but before run(): the run ends at once, not at the idle timeout."""
        with FakeAnthropic([Turn.stall()]) as api:
            agent = backend(claude_bin, api)
            agent.stop()
            outcome = agent.run("go", tmp_path, on_event=lambda e: None, decide=Recorder().decide)
        assert outcome.kind is OutcomeKind.INTERRUPTED, outcome.reason

    def test_max_turns_stops_the_session(self, claude_bin: str, tmp_path: Path) -> None:
        """More model turns than allowed: the session is stopped with a limit outcome."""
        turns: Iterable[Turn] = [Turn.tool("Bash", {"command": f"echo {i}", "description": "x"}) for i in range(6)]
        with FakeAnthropic(turns) as api:
            agent = backend(claude_bin, api, Limits(max_turns=2, idle_timeout_s=20), allowed_tools=["Bash(echo:*)"])
            outcome = agent.run("go", tmp_path, on_event=lambda e: None, decide=Recorder().decide)
        assert outcome.kind is OutcomeKind.LIMIT and "max turns" in outcome.reason

    def test_max_cost_stops_follow_ups(self, claude_bin: str, tmp_path: Path) -> None:
        """Over budget, a final question is not answered and the outcome says max cost."""
        rec = Recorder(answer="go on")
        with FakeAnthropic([Turn.say("Part one done.\n\nShall I continue?")]) as api:
            agent = backend(claude_bin, api, Limits(max_cost_usd=0.0001, idle_timeout_s=20))
            outcome = agent.run("go", tmp_path, on_event=rec.on_event, decide=rec.decide)
        assert outcome.kind is OutcomeKind.LIMIT and "max cost" in outcome.reason and rec.requests == []
        assert outcome.cost_usd > 0.0001

    def test_missing_binary(self, tmp_path: Path) -> None:
        """A binary that does not exist: AgentError saying how to install or configure it."""
        agent = ClaudeCodeBackend(AgentSettings.model_validate({"binary": str(tmp_path / "no-claude")}))
        with pytest.raises(AgentError, match="make claude-cli"):
            agent.run("go", tmp_path, on_event=lambda e: None, decide=Recorder().decide)

    def test_cli_that_exits_at_start(self, tmp_path: Path) -> None:
        """A CLI that dies at once: AgentError with its stderr tail."""
        script = tmp_path / "claude"
        script.write_text("#!/bin/sh\necho 'error: unknown option --verbose' >&2\nexit 3\n")
        script.chmod(0o755)
        agent = ClaudeCodeBackend(AgentSettings.model_validate({"binary": str(script)}))
        with pytest.raises(AgentError, match="(?s)code 3.*unknown option"):
            agent.run("go", tmp_path, on_event=lambda e: None, decide=Recorder().decide)

    def test_garbage_on_stdout(self, tmp_path: Path) -> None:
        """A CLI that prints no stream-json: AgentError quoting what it printed."""
        script = tmp_path / "claude"
        script.write_text("#!/bin/sh\necho 'Welcome to something else'\nexit 0\n")
        script.chmod(0o755)
        agent = ClaudeCodeBackend(AgentSettings.model_validate({"binary": str(script)}))
        with pytest.raises(AgentError, match="Welcome to something else"):
            agent.run("go", tmp_path, on_event=lambda e: None, decide=Recorder().decide)


def test_cli_that_dies_mid_session(tmp_path: Path) -> None:
    """A CLI that exits after starting a session: an error outcome with its stderr, not an exception."""
    script = tmp_path / "claude"
    script.write_text("#!/bin/sh\nread line\n"
                      "echo '{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s-9\"}'\n"
                      "echo 'FATAL: out of memory' >&2\nexit 137\n")
    script.chmod(0o755)
    agent = ClaudeCodeBackend(AgentSettings.model_validate({"binary": str(script)}))
    outcome = agent.run("go", tmp_path, on_event=lambda e: None, decide=Recorder().decide)
    assert outcome.kind is OutcomeKind.ERROR and outcome.session_id == "s-9"
    assert "137" in outcome.reason and "out of memory" in outcome.reason


def test_noise_between_json_lines_is_skipped(tmp_path: Path) -> None:
    """Non-JSON lines among stream-json ones are logged and skipped; unknown types become raw events."""
    script = tmp_path / "claude"
    script.write_text("#!/bin/sh\nread line\necho 'Debugger attached.'\n"
                      "echo '{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s-1\"}'\n"
                      "echo '{\"type\":\"brand_new\",\"x\":1}'\necho '<<<garbage>>>'\n"
                      "echo '{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,"
                      "\"result\":\"ok\",\"session_id\":\"s-1\",\"num_turns\":1,\"total_cost_usd\":0.01}'\n")
    script.chmod(0o755)
    rec = Recorder()
    outcome = ClaudeCodeBackend(AgentSettings.model_validate({"binary": str(script)})).run(
        "go", tmp_path, on_event=rec.on_event, decide=rec.decide)
    assert outcome.kind is OutcomeKind.SUCCESS and outcome.cost_usd == 0.01
    assert rec.types() == ["init", "raw", "result"]


def test_subscription_auth_drops_the_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """With auth = subscription the child never sees ANTHROPIC_API_KEY, nor nesting variables."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-secret")
    monkeypatch.setenv("CLAUDECODE", "1")
    env = ClaudeCodeBackend(AgentSettings.model_validate({"auth": "subscription"})).environment()
    assert "ANTHROPIC_API_KEY" not in env and "CLAUDECODE" not in env
    assert ClaudeCodeBackend(AgentSettings.model_validate({"auth": "api_key"})).environment()["ANTHROPIC_API_KEY"]


def test_command_line_from_settings() -> None:
    """Model, permission mode, tool rules, resume and extra args all reach the command line."""
    agent = ClaudeCodeBackend(AgentSettings.model_validate({
        "binary": "claude", "model": "sonnet", "permission_mode": "acceptEdits",
        "allowed_tools": ["Bash(pytest:*)"], "disallowed_tools": ["WebFetch"], "extra_args": ["--debug"]}))
    argv = agent.command("abc")
    assert argv[:2] == ["claude", "--input-format"]
    for pair in (["--model", "sonnet"], ["--permission-mode", "acceptEdits"], ["--allowedTools", "Bash(pytest:*)"],
                 ["--disallowedTools", "WebFetch"], ["--resume", "abc"]):
        assert any(argv[i:i + 2] == pair for i in range(len(argv)))
    assert argv[-1] == "--debug" and "--permission-prompt-tool" in argv
