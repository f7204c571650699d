"""`coffee-maker rules check`: decide requests read as JSON lines, without asking anyone.

Why a command: people tune the `[rules]` table by feeding it the requests they
worry about (`git push`, `cat ~/.ssh/id_rsa`) and reading the verdicts; CI can
do the same with a corpus file.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from coffee_maker.commands import _common
from coffee_maker.config import LoadedConfig
from coffee_maker.errors import UsageError
from coffee_maker.types import PermissionRequest, Question


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    rules = sub.add_parser("rules", help="test the MessageHandler's rules", parents=[common])
    actions = rules.add_subparsers(dest="rules_command", metavar="ACTION")
    check = actions.add_parser("check", parents=[common],
                               help='decide JSON lines from stdin: {"tool":…,"input":{…}} or {"question":…,"context":{…}}')
    check.set_defaults(func=lambda a: rules_check(_common.load(a)))
    rules.set_defaults(func=lambda a: rules_check(_common.load(a)))


def parse_request(data: dict[str, Any]) -> PermissionRequest | Question:
    """One JSON object → the request the agent would send."""
    if "tool" in data:
        return PermissionRequest(tool=str(data["tool"]), input=dict(data.get("input") or {}))
    if "question" in data:
        return Question(text=str(data["question"]), options=tuple(data.get("options") or ()),
                        context=dict(data.get("context") or {}))
    raise UsageError('each line needs "tool" (with "input") or "question" (with "context")')


def rules_check(loaded: LoadedConfig) -> int:
    """One JSON verdict per input line; exit 2 when some line could not be read."""
    from coffee_maker.interaction.handler import build_rule_engine

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
        except (json.JSONDecodeError, UsageError) as exc:
            bad += 1
            _common.print_json({"line": number, "error": f"line {number}: {exc}"})
            continue
        facts = dict(data.get("context") or {}) if isinstance(request, Question) else {}
        decision = engine.evaluate(request, facts)
        rule = decision.method.split(":", 1)[1] if ":" in decision.method else decision.method
        out: dict[str, Any] = {"decision": decision.kind.value, "answer": decision.answer, "rule": rule}
        if decision.message:
            out["message"] = decision.message
        _common.print_json(out)
        sys.stdout.flush()
    return 2 if bad else 0
