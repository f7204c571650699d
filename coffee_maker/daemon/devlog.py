"""The dev log of an attempt: docs/devlogs/YYYY-MM-DD_<priority-slug>-<outcome>.md.

Committed on the branch with the work, so the reviewer sees what the agent did,
what it asked, what the tests said and what it cost, next to the diff.
"""

from __future__ import annotations

import time
from pathlib import Path

from coffee_maker.daemon.record import AttemptRecord, AttemptResult
from coffee_maker.daemon.state import unblock_hint

DEVLOG_DIR = Path("docs/devlogs")


def devlog_path(record: AttemptRecord) -> Path:
    day = time.strftime("%Y-%m-%d", time.localtime(record.started_at))
    return DEVLOG_DIR / f"{day}_{record.priority.slug}-{record.result}.md"


def render_devlog(record: AttemptRecord) -> str:
    p = record.priority
    lines = [
        f"# Dev log — {p.id}: {p.title}",
        "",
        f"- Outcome: **{record.result}**" + (f" — {record.reason}" if record.reason else ""),
        f"- Attempt: {record.attempt}, branch `{record.branch}`",
        f"- Time: {record.elapsed_s:.0f} s, agent turns: {record.turns}, cost: ${record.cost_usd:.4f}",
    ]
    if record.outcome and record.outcome.session_id:
        lines.append(f"- Agent session: `{record.outcome.session_id}`")
    if record.pr_url:
        lines.append(f"- Pull request: {record.pr_url}")
    lines += ["", "## Goals", ""]
    claimed = record.claimed  # the agent's word, not a verification: the boxes stay as the roadmap had them
    lines += [f"- [{'x' if d.checked else ' '}] {d.text}" + (" — claimed done by the agent" if d.text in claimed else "")
              for d in p.deliverables] or [f"- {p.title}"]
    lines += ["", "## What the agent did", ""]
    if record.tools:
        lines += [f"- `{name}` {summary}" for name, summary in record.tools[:60]]
        if len(record.tools) > 60:
            lines.append(f"- … and {len(record.tools) - 60} more tool calls")
    else:
        lines.append("- (no tool calls recorded)")
    if record.files_changed:
        lines += ["", "Files changed:", ""] + [f"- `{f}`" for f in record.files_changed[:100]]
    if record.texts:
        lines += ["", "Agent's summary:", "", "> " + record.texts[-1].replace("\n", "\n> ")]
    lines += ["", "## Tests and safety gate", ""]
    if record.gate_passed is None:
        lines.append("- The gate did not run.")
    else:
        lines.append(f"- Gate: {'passed' if record.gate_passed else 'failed'}. {record.gate_summary}".rstrip())
    if record.test_output.strip():
        tail = "\n".join(record.test_output.strip().splitlines()[-15:])
        lines += ["", "```", tail, "```"]
    lines += ["", "## Questions and permissions", ""]
    if record.decisions:
        for d in record.decisions:
            who = "escalated, " if d.escalated else ""
            lines.append(f"- {d.request} → **{d.kind}** {d.response if d.kind == 'answer' else ''} ({who}{d.method})".replace("  ", " "))
    else:
        lines.append("- None.")
    lines += ["", "## Next steps", ""]
    if record.result is AttemptResult.SUCCESS:
        lines.append("- Review and merge the pull request.")
    elif record.result is AttemptResult.BLOCKED:
        lines.append(f"- A person needs to look at this priority: {record.reason or 'see above'}.")
        lines.append(f"- {unblock_hint(record.priority.id)}")
    else:
        lines.append("- The daemon retries this priority with the failures above as feedback.")
    return "\n".join(lines) + "\n"


def write_devlog(workspace: Path, record: AttemptRecord) -> Path:
    """Write the dev log into the workspace; returns the path relative to it."""
    relative = devlog_path(record)
    target = workspace / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_devlog(record), encoding="utf-8")
    return relative
