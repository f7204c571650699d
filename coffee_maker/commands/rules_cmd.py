"""`coffee-maker rules check` and `rules explain`: how the rules judge a request, without asking anyone.

Why a command: people tune the `[rules]` table by feeding it the requests they
worry about (`git push`, `cat ~/.ssh/id_rsa`) and reading the verdicts — which rule,
its risk class and its reason; CI can do the same with a corpus file. `explain` shows
how one command was parsed: each simple command, its directory, the paths it touches.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from coffee_maker.commands import _common
from coffee_maker.config import LoadedConfig
from coffee_maker.errors import UsageError
from coffee_maker.rules.explain import verdict
from coffee_maker.types import PermissionRequest, Question


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    rules = sub.add_parser("rules", help="see how the rules judge requests", parents=[common])
    actions = rules.add_subparsers(dest="rules_command", metavar="ACTION")
    check = actions.add_parser("check", parents=[common],
                               help='decide JSON lines from stdin: {"tool":…,"input":{…}} or {"question":…,"context":{…}}')
    check.add_argument("--json", action="store_true", help="one JSON object per line (for machines)")
    check.set_defaults(func=lambda a: rules_check(_common.load(a), as_json=a.json))
    explain = actions.add_parser("explain", parents=[common], help="how one command is parsed and judged")
    explain.add_argument("command", help='a shell command, e.g. "cd sub && pytest -q | tail"')
    explain.add_argument("--tool", default="Bash", help="judge it as this tool's path instead (Read, Edit, Write…)")
    explain.add_argument("--question", action="store_true", help="judge the text as a question from the agent")
    explain.add_argument("--json", action="store_true", help="the explanation as one JSON object")
    explain.set_defaults(func=lambda a: rules_explain(_common.load(a), a.command, tool=a.tool, question=a.question,
                                                      as_json=a.json))
    rules.set_defaults(func=lambda a: rules_check(_common.load(a), as_json=False))


def parse_request(data: dict[str, Any]) -> PermissionRequest | Question:
    """One JSON object → the request the agent would send."""
    if "tool" in data:
        return PermissionRequest(tool=str(data["tool"]), input=dict(data.get("input") or {}))
    if "question" in data:
        return Question(text=str(data["question"]), options=tuple(data.get("options") or ()),
                        context=dict(data.get("context") or {}))
    raise UsageError('each line needs "tool" (with "input") or "question" (with "context")')


def _line(what: str, out: dict[str, Any]) -> str:
    result = out["decision"] + (f" {out['answer']!r}" if out["answer"] else "")
    why = " · ".join(str(x) for x in (out["rule"], out["class"], out["reason"] or out.get("message")) if x)
    high = " · high severity" if out["severity"] == "high" and out["decision"] == "ask" else ""
    return f"{result:<7} {what[:60]:<60}  {why}{high}"


def rules_check(loaded: LoadedConfig, *, as_json: bool = True) -> int:
    """One verdict per input line; exit 2 when some line could not be read."""
    from coffee_maker.interaction.handler import build_rule_engine, describe

    engine = build_rule_engine(loaded)
    bad = 0
    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise UsageError("each line must be a JSON object")
            request = parse_request(data)
        except json.JSONDecodeError as exc:
            message = (f"line {number} is not JSON ({exc.msg} at column {exc.colno}); each line is one object such as "
                       '{"tool": "Bash", "input": {"command": "pytest -q"}}')
        except UsageError as exc:
            message = f"line {number}: {exc}"
        else:
            message = ""
        if message:
            bad += 1
            if as_json:
                _common.print_json({"line": number, "error": message})
            else:
                sys.stderr.write(message + "\n")
            continue
        facts = dict(data.get("context") or {}) if isinstance(request, Question) else {}
        out = verdict(engine.evaluate(request, facts))
        if as_json:
            _common.print_json(out)
        else:
            sys.stdout.write(_line(describe(request, engine.root).removeprefix("Allow "), out) + "\n")
        sys.stdout.flush()
    return 2 if bad else 0


def rules_explain(loaded: LoadedConfig, text: str, *, tool: str = "Bash", question: bool = False,
                  as_json: bool = False) -> int:
    """Print how ``text`` is parsed into simple commands, what each touches, and which rule decides."""
    from coffee_maker.interaction.handler import build_rule_engine
    from coffee_maker.rules.explain import explanation, render

    engine = build_rule_engine(loaded)
    data = explanation(engine, text, tool=tool, question=question)
    if as_json:
        _common.print_json(data)
    else:
        sys.stdout.write(render(data) + "\n")
    return 0
