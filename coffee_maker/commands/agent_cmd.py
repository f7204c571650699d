"""`coffee-maker agent run` — run one agent session and print its events."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from coffee_maker.commands import _common
from coffee_maker.config import LoadedConfig
from coffee_maker.config.agent import AgentSettings
from coffee_maker.types import OutcomeKind, SessionOutcome
from coffee_maker.words import count

#: Exit code per outcome (documented in `coffee-maker agent run --help`).
EXIT_CODES: dict[OutcomeKind, int] = {
    OutcomeKind.SUCCESS: 0, OutcomeKind.ERROR: 1, OutcomeKind.USAGE_LIMIT: 3, OutcomeKind.RATE_LIMIT: 4,
    OutcomeKind.OVERLOADED: 5, OutcomeKind.AUTH_FAILED: 6, OutcomeKind.TIMEOUT: 7, OutcomeKind.LIMIT: 8,
    OutcomeKind.INTERRUPTED: 130,
}

_EPILOG = "exit codes:\n" + "\n".join(
    f"  {code:>3}  {kind.value}" for kind, code in sorted(EXIT_CODES.items(), key=lambda kv: kv[1])
) + "\n    2  bad usage (and known errors such as a missing agent CLI exit 1)"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("agent", help="run the coding agent directly", parents=[common])
    actions = parser.add_subparsers(dest="agent_command", metavar="ACTION")
    run = actions.add_parser(
        "run", help="run one agent session and print each event", parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EPILOG,
        description="Run one session of the configured agent. Permission requests are decided by --deny/"
                    "--allow rules in Claude Code's syntax (Write, Edit(src/**), Bash(pytest:*)) first, then by "
                    "the configured [rules], each part of a shell command on its own (see `coffee-maker rules "
                    "explain`); what would need a person is denied.")
    run.add_argument("--prompt", required=True, metavar="TEXT", help="what the agent should do")
    run.add_argument("--backend", metavar="NAME", help="claude | scripted | codex | gemini | aider | [agent.cli.*]")
    run.add_argument("--binary", metavar="PATH", help="the agent CLI to run")
    run.add_argument("--cwd", metavar="DIR", help="working directory (default: --repo or .)")
    run.add_argument("--allow", action="append", default=[], metavar="RULE", help="allow matching tool calls")
    run.add_argument("--deny", action="append", default=[], metavar="RULE", help="deny matching tool calls")
    run.add_argument("--answer", metavar="TEXT", help="the answer to a question the agent asks")
    run.add_argument("--resume", metavar="SESSION_ID", help="continue this session")
    run.add_argument("--script", metavar="FILE", help="script for the scripted backend")
    run.add_argument("--json", action="store_true", help="one JSON object per line, each with a \"type\"")
    run.set_defaults(func=lambda a: _run_with_config(_common.load(a), a))

    def show_help(args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(func=show_help)


def _run_with_config(loaded: LoadedConfig, a: argparse.Namespace) -> int:
    cwd = Path(a.cwd or _common.repo_arg(a)).resolve()
    return run_agent(loaded.config.agent, prompt=a.prompt, backend=a.backend, binary=a.binary, cwd=cwd,
                     allow=a.allow, deny=a.deny, answer=a.answer, resume=a.resume, script=a.script, as_json=a.json,
                     rules=loaded.config.rules, test_command=loaded.config.git.test_command)


def run_agent(settings: AgentSettings, *, prompt: str, backend: str | None = None, binary: str | None = None,
              cwd: Path, allow: Sequence[str] = (), deny: Sequence[str] = (), answer: str | None = None,
              resume: str | None = None, script: str | None = None, as_json: bool = False,
              rules: Any = None, test_command: str | None = None) -> int:
    """Run one session; print events, then the outcome; return the outcome's exit code.

    --deny/--allow rules are judged first, then ``rules`` (the configured ``[rules]``), part by part
    of each shell command; a verdict that needs a person is a denial here, since nobody is asked.
    """
    from coffee_maker.agent.registry import create_backend
    from coffee_maker.rules.claude_syntax import RuleDecider

    cwd = cwd.resolve()
    if script:
        settings = settings.model_copy(update={"script": script})
    decide = RuleDecider(allow, deny, answer=answer, cwd=cwd, settings=rules, test_command=test_command)

    agent = create_backend(settings, name=backend, binary=binary)
    printer = _Printer(as_json)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        agent.stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        outcome = agent.run(prompt, cwd, on_event=printer.event, decide=decide, resume_session_id=resume)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    printer.outcome(outcome)
    if outcome.kind is OutcomeKind.AUTH_FAILED and not as_json:
        from coffee_maker.agent.auth import auth_advice

        sys.stderr.write(auth_advice(settings, backend=backend or settings.backend) + "\n")
    return EXIT_CODES.get(outcome.kind, 1)


class _Printer:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def _write(self, line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def event(self, event: Any) -> None:
        if self.as_json:
            self._write(json.dumps(event.to_dict(), ensure_ascii=False, default=str))
            return
        d = event.to_dict()
        kind = d["type"]
        if kind == "init":
            text = f"session {d.get('session_id')} · model {d.get('model')}"
        elif kind == "assistant_text":
            text = d["text"]
        elif kind == "tool_use":
            text = f"{d['name']} {json.dumps(d['input'], ensure_ascii=False)[:200]}"
        elif kind == "tool_result":
            text = ("error: " if d["is_error"] else "") + (d["content"].strip().splitlines() or [""])[0][:200]
        elif kind == "decision":
            decision = d["decision"]
            text = f"{decision['kind']} ({decision['method']}) {decision.get('message') or decision.get('answer') or ''}"
        elif kind == "permission_denied":
            text = f"{d['tool']}: {d['message']}"
        elif kind == "result":
            text = f"{'error' if d['is_error'] else 'ok'} · turns {d['num_turns']} · ${d['cost_usd']:.4f}"
        else:
            text = str(d.get("kind", ""))
        self._write(f"[{kind}] {text}".rstrip())

    def outcome(self, outcome: SessionOutcome) -> None:
        body = {"type": "outcome", "kind": outcome.kind.value, "session_id": outcome.session_id,
                "cost_usd": outcome.cost_usd, "num_turns": outcome.num_turns, "reason": outcome.reason,
                "duration_s": round(outcome.duration_s, 3),
                "reset_at": outcome.reset_at.isoformat() if outcome.reset_at else None}
        if self.as_json:
            self._write(json.dumps(body, ensure_ascii=False))
            return
        reset = f" · resets {body['reset_at']}" if body["reset_at"] else ""
        self._write(f"[outcome] {outcome.kind.value} · session {outcome.session_id} · ${outcome.cost_usd:.4f} · "
                    f"{count(outcome.num_turns, 'turn')} · {outcome.reason}{reset}")
