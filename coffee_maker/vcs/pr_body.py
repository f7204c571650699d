"""The pull request description a reviewer reads first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from coffee_maker.types import Priority
from coffee_maker.words import count


@dataclass(frozen=True)
class Receipt:
    """What the agent did and what it cost, at a glance — kept current in the PR body on every push."""

    cost_usd: float = 0.0
    tokens: int = 0
    turns: int = 0
    attempts: int = 1
    gate_rounds: int = 0  # the gate failed and the agent fixed it
    ci_rounds: int = 0  # a red CI check went back to the agent
    review_rounds: int = 0  # review threads went back to the agent
    waited_on_people_s: float = 0.0  # questions and permissions a person answered
    checks: Sequence[str] = ()  # "tests: success" — the PR's CI checks as last seen


def render_receipt(receipt: Receipt) -> list[str]:
    """The receipt as a small Markdown table."""
    checks = ", ".join(receipt.checks) if receipt.checks else "none seen yet"
    rows = [("Cost", f"${receipt.cost_usd:.4f}"), ("Tokens", f"{receipt.tokens:,}"), ("Turns", str(receipt.turns)),
            ("Attempts", str(receipt.attempts)),
            ("Fix rounds", f"gate {receipt.gate_rounds}, CI {receipt.ci_rounds}, review {receipt.review_rounds}"),
            ("Waiting on people", f"{receipt.waited_on_people_s:.0f} s"), ("CI checks", checks)]
    return ["### Receipt", "", "| | |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows), ""]


def render_pr_body(
    priority: Priority, *, gate_summary: str = "", test_output: str = "", cost_usd: float = 0.0, turns: int = 0,
    session_id: str | None = None, decisions: Sequence[str] = (), escalations: Sequence[str] = (),
    devlog: str | None = None, claimed: Sequence[str] = (), max_section_chars: int = 20_000, merge_check: str = "",
    receipt: Receipt | None = None,
) -> str:
    """``claimed``: the deliverables the agent said it completed — shown as its claims, never as verified."""
    section = priority.text if len(priority.text) <= max_section_chars else priority.text[:max_section_chars] + "\n…"
    lines = [f"Implements **{priority.id}: {priority.title}** from the roadmap.", ""]
    if priority.deliverables:
        lines += ["### Deliverables", ""] + _deliverables(priority, claimed) + [""]
    if receipt is not None:
        lines += render_receipt(receipt)
    lines += ["### Checks", "", f"- Safety gate: {gate_summary or 'passed'}",
              f"- Agent: {count(turns, 'turn')}, ${cost_usd:.4f}" + (f", session `{session_id}`" if session_id else "")]
    if merge_check:
        lines.append(f"- {merge_check}")
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


def _deliverables(priority: Priority, claimed: Sequence[str]) -> list[str]:
    """The agent's claims, unticked: the boxes are the reviewer's, ticked as each is checked."""
    open_items = [d for d in priority.deliverables if not d.checked]
    done = sum(1 for d in open_items if d.text in claimed)
    if done:
        head = (f"The agent claimed {done} of {len(open_items)} done. They were not verified one by one: the safety "
                "gate checked only the tests, a secret scan and that the diff is real. Tick each box as you verify "
                f"it. Merging ticks the {done} claimed in the roadmap and marks the priority complete.")
    else:
        head = ("The agent did not say which deliverables it completed, and none was verified one by one: the safety "
                "gate checked only the tests, a secret scan and that the diff is real. Merging marks the priority "
                "complete and leaves these unticked in the roadmap; tick them as you verify them.")
    lines = [head, ""]
    for d in priority.deliverables:
        if d.checked:
            lines.append(f"- {d.text} — already ticked in the roadmap before this work")
        else:
            lines.append(f"- [ ] {d.text} — " + ("claimed done by the agent" if d.text in claimed
                                                  else "not claimed by the agent"))
    return lines
