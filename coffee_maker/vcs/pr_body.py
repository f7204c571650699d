"""The pull request description a reviewer reads first."""

from __future__ import annotations

from collections.abc import Sequence

from coffee_maker.types import Priority
from coffee_maker.words import count


def render_pr_body(
    priority: Priority, *, gate_summary: str = "", test_output: str = "", cost_usd: float = 0.0, turns: int = 0,
    session_id: str | None = None, decisions: Sequence[str] = (), escalations: Sequence[str] = (),
    devlog: str | None = None, max_section_chars: int = 20_000,
) -> str:
    section = priority.text if len(priority.text) <= max_section_chars else priority.text[:max_section_chars] + "\n…"
    lines = [f"Implements **{priority.id}: {priority.title}** from the roadmap.", ""]
    if priority.deliverables:
        lines += ["### Deliverables", ""] + [f"- [x] {d.text}" for d in priority.deliverables] + [""]
    lines += ["### Checks", "", f"- Safety gate: {gate_summary or 'passed'}",
              f"- Agent: {count(turns, 'turn')}, ${cost_usd:.4f}" + (f", session `{session_id}`" if session_id else "")]
    if devlog:
        lines.append(f"- Dev log: `{devlog}`")
    if test_output.strip():
        tail = "\n".join(test_output.strip().splitlines()[-20:])
        lines += ["", "<details><summary>Test output (tail)</summary>", "", "```", tail, "```", "", "</details>"]
    lines += ["", "### Questions and permissions", ""]
    if escalations:
        lines += ["Answered by a person:", ""] + [f"- {e}" for e in escalations] + [""]
    if decisions:
        lines += ["Decided by rules:", ""] + [f"- {d}" for d in decisions[:30]] + [""]
    if not decisions and not escalations:
        lines += ["None.", ""]
    lines += ["<details><summary>The roadmap section</summary>", "", section.strip(), "", "</details>", "",
              "_Opened by coffee-maker. Request changes to have the agent address them on this branch._"]
    return "\n".join(lines) + "\n"
