"""`coffee-maker roadmap list | next | show ID | check`."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from typing import Any

from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table

from coffee_maker.commands import _common
from coffee_maker.config import LoadedConfig
from coffee_maker.roadmap import Roadmap, errors, read_roadmap
from coffee_maker.types import Priority, Status
from coffee_maker.words import count

#: Warning kinds as the `list` table shows them (`roadmap check` gives the full sentence).
_SHORT_KIND = {"status_mismatch": "mismatch", "duplicate_id": "duplicate", "unknown_status": "status?",
               "unclosed_fence": "fence"}

_STATUS_STYLE = {Status.PLANNED: "cyan", Status.IN_PROGRESS: "yellow", Status.COMPLETE: "green",
                 Status.BLOCKED: "red", Status.UNKNOWN: "magenta"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("roadmap", help="read the roadmap as the daemon sees it", parents=[common])
    actions = parser.add_subparsers(dest="roadmap_command", metavar="ACTION")
    listing = actions.add_parser("list", help="every priority with status and progress", parents=[common])
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(func=lambda a: list_priorities(_common.load(a), as_json=a.json))
    nxt = actions.add_parser("next", help="the priority the daemon would pick next", parents=[common])
    nxt.add_argument("--json", action="store_true", help="print JSON")
    nxt.set_defaults(func=lambda a: show_next(_common.load(a), as_json=a.json))
    show = actions.add_parser("show", help="one priority's section", parents=[common])
    show.add_argument("id", metavar="ID", help="e.g. 'PRIORITY 2.5', '2.5' or 'US-062'")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=lambda a: show_priority(_common.load(a), a.id, as_json=a.json))
    check = actions.add_parser(
        "check", parents=[common],
        help="list warnings; exit 1 on errors: an unclosed code fence, or a duplicated id with a copy not complete",
        description="Print every warning (status heading/line disagreement, duplicate ids, unknown status text, "
                    "unclosed code fence) with its line. Exit 1 when there is an error — an unclosed code fence "
                    "(it hides every priority below it) or a priority id used twice where a copy is not complete "
                    "(the daemon could pick or edit the wrong one); exit 0 when there are only warnings; exit 2 "
                    "when the roadmap cannot be read.")
    check.add_argument("--json", action="store_true", help="print the warnings as JSON objects")
    check.set_defaults(func=lambda a: check_roadmap(_common.load(a), as_json=a.json))
    parser.set_defaults(func=lambda a: list_priorities(_common.load(a), as_json=False))


def _load(loaded: LoadedConfig) -> Roadmap:
    return read_roadmap(loaded.roadmap_path)[1]


def report_errors(loaded: LoadedConfig, roadmap: Roadmap) -> None:
    """The errors `roadmap check` fails on, on stderr: `list` and `next` must not hide them (stdout stays JSON)."""
    for w in errors(roadmap):
        sys.stderr.write(f"coffee-maker: roadmap error: {loaded.roadmap_path}:{w.line}: {w.message} "
                         "(see `coffee-maker roadmap check`)\n")


def priority_json(p: Priority, *, full: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": p.id, "title": p.title, "status": p.status.value, "status_text": p.status_text, "line": p.line,
        "end_line": p.end_line, "deliverables_done": p.deliverables_done, "deliverables_total": len(p.deliverables),
        "dependencies": list(p.dependencies),
    }
    if full:
        data["deliverables"] = [asdict(d) for d in p.deliverables]
        data["text"] = p.text
    return data


def list_priorities(loaded: LoadedConfig, *, as_json: bool) -> int:
    roadmap = _load(loaded)
    report_errors(loaded, roadmap)
    if as_json:
        _common.print_json([priority_json(p) for p in roadmap.priorities])
        return 0
    by_line: dict[int, list[str]] = {}
    for w in roadmap.warnings:
        by_line.setdefault(w.line, []).append(_SHORT_KIND.get(w.kind, w.kind))
    table = Table(title=f"{loaded.roadmap_path} — {count(len(roadmap.priorities), 'priority', 'priorities')}", title_justify="left")
    # One row per priority: the other columns are as wide as what they hold, the title takes the rest
    # and only a title longer than that is cut with "…"; no warnings, no warnings column.
    console = _common.console()
    rows = []
    for p in roadmap.priorities:
        done = f"{p.deliverables_done}/{len(p.deliverables)}" if p.deliverables else "—"
        kinds = by_line.get(p.line, []) + (by_line.get(p.status_line, []) if p.status_line else [])
        rows.append([p.id, escape(p.title), f"[{_STATUS_STYLE[p.status]}]{p.status.value}[/]", done, str(p.line),
                     ", ".join(kinds)])
    with_warnings = any(row[-1] for row in rows)
    headers = ["id", "title", "status", "done", "line", *(["warnings"] if with_warnings else [])]
    plain = [[p.id, p.title, p.status.value, *row[3:]] for p, row in zip(roadmap.priorities, rows, strict=True)]
    widths = [max([len(h), *(len(r[i]) for r in plain)]) for i, h in enumerate(headers)]
    room = console.width - sum(w for i, w in enumerate(widths) if i != 1) - 3 * len(headers) - 1
    for i, header in enumerate(headers):
        if i == 1:
            table.add_column(header, no_wrap=True, overflow="ellipsis", max_width=max(12, room))
        else:
            table.add_column(header, no_wrap=True, min_width=widths[i])
    for row in rows:
        table.add_row(*row[: len(headers)])
    console.print(table)
    return 0


def show_next(loaded: LoadedConfig, *, as_json: bool) -> int:
    from coffee_maker.daemon.planning import plan

    roadmap = _load(loaded)
    report_errors(loaded, roadmap)
    chosen, skipped = plan(loaded, roadmap)
    if as_json:
        _common.print_json({"next": priority_json(chosen) if chosen else None,
                            "skipped": [{"id": s.priority.id, "line": s.priority.line, "reason": s.reason}
                                        for s in skipped]})
        return 0
    console = _common.console()
    for s in skipped:
        console.print(f"[dim]skipped {s.priority.id} (line {s.priority.line}): {escape(s.reason)}[/]")
    if chosen is None:
        console.print("Nothing to do: no planned priority is ready" + (" (the reasons are above)." if skipped else "."))
        return 0
    console.print(f"Next: [bold]{chosen.id}: {escape(chosen.title)}[/] (line {chosen.line})")
    return 0


def show_priority(loaded: LoadedConfig, query: str, *, as_json: bool) -> int:
    roadmap = _load(loaded)
    p = roadmap.resolve(query, loaded.roadmap_path)
    found = roadmap.find(p.id)
    if as_json:
        _common.print_json(priority_json(p, full=True))
        return 0
    console = _common.console()
    console.print(f"[bold]{p.id}: {escape(p.title)}[/] — [{_STATUS_STYLE[p.status]}]{p.status.value}[/] "
                  f"(lines {p.line}–{p.end_line}; {p.deliverables_done}/{len(p.deliverables)} deliverables)")
    if len(found) > 1:
        console.print(f"[yellow]{p.id} appears {len(found)} times (lines "
                      f"{', '.join(str(f.line) for f in found)}); showing the first.[/]")
    console.print(Markdown(_body(p.text)))
    return 0


def _body(section: str) -> str:
    """The section without its heading (already printed), each line kept on its own line.

    Markdown joins consecutive lines into one paragraph, which ran `**Status**: …` into the
    `**Dependencies**` line below it; a hard break (two trailing spaces) keeps roadmap lines apart.
    """
    lines = section.split("\n")[1:]
    out, fenced = [], False
    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        out.append(line if fenced or not line.strip() else line.rstrip() + "  ")
    return "\n".join(out)


def check_roadmap(loaded: LoadedConfig, *, as_json: bool) -> int:
    roadmap = _load(loaded)
    failing = set(errors(roadmap))
    if as_json:
        _common.print_json([{"line": w.line, "kind": w.kind, "message": w.message, "error": w in failing}
                            for w in roadmap.warnings])
    else:
        console = _common.console()
        for w in roadmap.warnings:
            style, label = ("red", "error") if w in failing else ("yellow", "warning")
            console.print(f"{loaded.roadmap_path}:{w.line}: [{style}]{label}[/] {w.kind}: {escape(w.message)}")
        console.print(f"{count(len(roadmap.priorities), 'priority', 'priorities')}, {count(len(roadmap.warnings), 'warning')}, "
                      f"{len(failing)} of them errors.")
    return 1 if failing else 0
