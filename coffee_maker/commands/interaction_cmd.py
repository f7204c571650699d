"""`coffee-maker rules check`, `pending`, `answer ID VALUE`, `interactions`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from rich.markup import escape
from rich.table import Table

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

    pending = sub.add_parser("pending", help="questions waiting for a person", parents=[common])
    pending.add_argument("--json", action="store_true", help="print JSON")
    pending.set_defaults(func=lambda a: show_pending(_common.load(a), as_json=a.json))

    answer = sub.add_parser("answer", help="answer a pending question", parents=[common])
    answer.add_argument("id", metavar="ID")
    answer.add_argument("value", metavar="VALUE", nargs="+", help="the answer (e.g. yes, no, always, or text)")
    answer.add_argument("--as", dest="who", default=None, help="who is answering (default: your user name)")
    answer.set_defaults(func=lambda a: answer_question(_common.load(a), a.id, " ".join(a.value), who=a.who))

    inter = sub.add_parser("interactions", help="list logged interactions", parents=[common])
    inter.add_argument("--day", help="YYYY-MM-DD (default: all days)")
    inter.add_argument("--priority", help="only this priority, e.g. 'PRIORITY 2'")
    inter.add_argument("--type", dest="kind",
                       choices=["auto_response", "user_response", "timeout_default", "permission"])
    inter.add_argument("--json", action="store_true", help="one JSON object per line")
    inter.set_defaults(func=lambda a: list_interactions(_common.load(a), day=a.day, priority=a.priority,
                                                        kind=a.kind, as_json=a.json))


def _request(data: dict[str, Any]) -> PermissionRequest | Question:
    if "tool" in data:
        return PermissionRequest(tool=str(data["tool"]), input=dict(data.get("input") or {}))
    if "question" in data:
        return Question(text=str(data["question"]), options=tuple(data.get("options") or ()),
                        context=dict(data.get("context") or {}))
    raise UsageError('each line needs "tool" (with "input") or "question" (with "context")')


def rules_check(loaded: LoadedConfig) -> int:
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
            request = _request(data)
        except (json.JSONDecodeError, UsageError) as exc:
            bad += 1
            _common.print_json({"line": number, "error": f"line {number}: {exc}"})
            continue
        facts = dict(data.get("context") or {}) if isinstance(request, Question) else {}
        decision = engine.evaluate(request, facts)
        rule = decision.method.split(":", 1)[1] if ":" in decision.method else decision.method
        out: dict[str, Any] = {"decision": decision.kind.value, "rule": rule}
        if decision.answer is not None:
            out["answer"] = decision.answer
        if decision.message:
            out["message"] = decision.message
        _common.print_json(out)
        sys.stdout.flush()
    return 2 if bad else 0


def show_pending(loaded: LoadedConfig, *, as_json: bool) -> int:
    from coffee_maker.notify.inbox import Inbox

    db = loaded.state_dir / "inbox.db"
    questions = Inbox(db).pending() if db.exists() else []
    if as_json:
        _common.print_json([{"id": q.id, "priority": q.priority, "kind": q.kind, "question": q.text,
                             "options": list(q.options), "safe_default": q.safe_default,
                             "seconds_left": max(0, round(q.timeout_at - time.time()))} for q in questions])
        return 0
    console = _common.console()
    if not questions:
        console.print("No questions are waiting.")
        return 0
    table = Table(title="waiting for a person", title_justify="left")
    for column in ("id", "priority", "question", "options", "left", "answer with"):
        table.add_column(column)
    for q in questions:
        table.add_row(q.id, q.priority or "", escape(q.text), " / ".join(q.options) or "text",
                      f"{max(0, int(q.timeout_at - time.time()))}s", escape(q.answer_command()))
    console.print(table)
    return 0


def answer_question(loaded: LoadedConfig, qid: str, value: str, *, who: str | None) -> int:
    import getpass

    from coffee_maker.notify.escalator import normalise_answer
    from coffee_maker.notify.inbox import Inbox

    db = loaded.state_dir / "inbox.db"
    if not db.exists():
        raise UsageError(f"No questions have been asked in {loaded.repo} yet.")
    inbox = Inbox(db)
    question = inbox.get(qid)
    if question is None:
        raise UsageError(f"There is no question {qid!r}; see `coffee-maker pending`.")
    if question.status != "pending":
        raise UsageError(f"Question {question.id} is already {question.status}"
                         + (f" ({question.answer} by {question.answered_by})." if question.answer else "."))
    if normalise_answer(value, question.options) is None:
        raise UsageError(f"{value!r} is not an answer to {question.id}; choose one of: {', '.join(question.options)}.")
    if not inbox.answer(question.id, value, who=f"cli:{who or getpass.getuser()}", channel="cli"):
        raise UsageError(f"Question {question.id} was answered elsewhere a moment ago.")
    _common.console().print(f"Answered {question.id}: {value}")
    return 0


def list_interactions(loaded: LoadedConfig, *, day: str | None, priority: str | None, kind: str | None,
                      as_json: bool) -> int:
    from coffee_maker.interaction.log import InteractionLog

    records = list(InteractionLog(loaded.interaction_log_dir).read(day=day, priority=priority, kind=kind))
    if as_json:
        for record in records:
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        return 0
    console = _common.console()
    if not records:
        console.print(f"No interactions logged in {loaded.interaction_log_dir}.")
        return 0
    table = Table(title=f"interactions ({len(records)})", title_justify="left")
    for column in ("time", "priority", "type", "question", "response", "by", "s"):
        table.add_column(column)
    for r in records:
        table.add_row(str(r.get("timestamp", ""))[11:19], str(r.get("priority") or ""), str(r.get("interaction_type")),
                      escape(str(r.get("question", ""))[:80]), escape(str(r.get("response", ""))[:40]),
                      escape(str(r.get("response_method", ""))), f"{r.get('response_time_seconds', 0):.1f}")
    console.print(table)
    return 0
