"""`rules explain`: a command's parse, each part's subject and verdict, as data and as text."""

from __future__ import annotations

from typing import Any

from coffee_maker.rules.engine import RuleEngine
from coffee_maker.rules.paths import PathUse
from coffee_maker.types import Decision, PermissionRequest, Question


def _path(use: PathUse) -> dict[str, Any]:
    return {"path": use.raw, "resolved": use.resolved, "inside": use.inside, "write": use.write, "known": use.known}


def _rule(rule: Any) -> dict[str, Any] | None:
    if rule is None:
        return None
    return {"name": rule.name, "decision": rule.decision, "class": rule.risk.value if rule.risk else None,
            "reason": rule.why}


def verdict(decision: Decision) -> dict[str, Any]:
    """The machine form of a decision: decision, answer, rule, class, reason, severity."""
    out: dict[str, Any] = {"decision": decision.kind.value, "answer": decision.answer, "rule": decision.source.name,
                           "class": decision.risk, "reason": decision.reason, "severity": decision.severity}
    if decision.message:
        out["message"] = decision.message
    return out


def explanation(engine: RuleEngine, text: str, *, tool: str = "Bash", question: bool = False) -> dict[str, Any]:
    """Everything the engine saw and decided about one request."""
    if question:
        return {"question": text, "verdict": verdict(engine.evaluate(Question(text), {}))}
    request = PermissionRequest(tool, {"command": text} if tool == "Bash" else {"file_path": text})
    judgement = engine.judge(request)
    subject = judgement.subject
    commands = []
    for cmd in subject.commands:
        commands.append({
            "text": cmd.source.text, "program": cmd.program, "subcommand": cmd.subcommand, "args": list(cmd.args),
            "judged_as": cmd.text, "wrappers": list(cmd.wrapped), "env": [f"{k}={v}" for k, v in cmd.env],
            "cwd": cmd.cwd, "paths": [_path(p) for p in cmd.paths], "variables": sorted(cmd.variables),
            "hosts": list(cmd.hosts), "nested": cmd.source.nested, "piped_stdin": cmd.source.piped_stdin,
            "shaping": list(cmd.shaping),
        })
    parsed = subject.parsed
    return {
        "tool": tool, "input": text, "parse_error": subject.parse_error, "commands": commands,
        "sets": [f"{k}={v}" for k, v in parsed.assignments] if parsed is not None else [],
        "shaping": list(subject.shaping),
        "paths": [_path(p) for p in subject.paths] if tool != "Bash" else [],
        "parts": [{"part": p.part, "rule": _rule(p.rule)} for p in judgement.parts],
        "verdict": verdict(judgement.decision),
    }


def render(data: dict[str, Any]) -> str:
    """The explanation for a person."""
    lines: list[str] = []
    if "question" in data:
        lines.append(f"question: {data['question']}")
    else:
        lines.append(f"{data['tool']}: {data['input']}")
        if data["parse_error"]:
            lines.append(f"  parse error: {data['parse_error']}")
        for i, cmd in enumerate(data["commands"], 1):
            flags = [f for f, on in (("inside bash -c / here-string", cmd["nested"]),
                                     ("reads a pipe", cmd["piped_stdin"])) if on]
            lines.append(f"  {i}. {cmd['text']}" + (f"   [{', '.join(flags)}]" if flags else ""))
            lines.append(f"     judged as: {cmd['judged_as'] or '(nothing)'}"
                         + (f"   (without {', '.join(cmd['wrappers'])})" if cmd["wrappers"] else ""))
            lines.append(f"     runs in: {cmd['cwd'] if cmd['cwd'] is not None else 'an unknown directory'}")
            for use in cmd["paths"]:
                where = "inside" if use["inside"] else ("unknown" if not use["known"] else "OUTSIDE")
                lines.append(f"     {'writes' if use['write'] else 'reads '} {use['path']} → {use['resolved']} ({where})")
            if cmd["variables"]:
                lines.append(f"     reads variables: {', '.join(cmd['variables'])}")
            if cmd["hosts"]:
                lines.append(f"     network: {', '.join(cmd['hosts'])}")
            if cmd["shaping"]:
                lines.append(f"     its prefix changes what it runs: {', '.join(cmd['shaping'])}")
        if data["sets"]:
            lines.append(f"  sets: {', '.join(data['sets'])}" + (
                f"   (changes what later commands run: {', '.join(data['shaping'])})" if data["shaping"] else ""))
        for use in data["paths"]:
            lines.append(f"  path: {use['path']} → {use['resolved']} ({'inside' if use['inside'] else 'OUTSIDE'})")
        lines.append("  verdicts:")
        for part in data["parts"]:
            rule = part["rule"]
            said = (f"{rule['decision']} by {rule['name']}" + (f" ({rule['class']})" if rule["class"] else "")
                    if rule else "no rule (the default applies)")
            lines.append(f"    {part['part'][:70]}: {said}")
    v = data["verdict"]
    lines.append(f"decision: {v['decision']}" + (f" {v['answer']!r}" if v["answer"] else "")
                 + f" — rule {v['rule']}" + (f" · class {v['class']}" if v["class"] else "")
                 + (" · high severity (answer from the terminal or `coffee-maker answer`)"
                    if v["severity"] == "high" and v["decision"] == "ask" else ""))
    if v["reason"] or v.get("message"):
        lines.append(f"reason: {v['reason'] or v.get('message')}")
    return "\n".join(lines)
