"""Build the agent's prompt for one priority (pure: values in, text out)."""

from __future__ import annotations

from collections.abc import Sequence

from coffee_maker.types import Priority

DAEMON_RULES = """\
Rules for this session (set by the coffee_maker daemon that runs you):
- Work only on {pid}. Do not start other roadmap priorities.
- You are on branch `{branch}`; the daemon commits, pushes and opens the pull request.
  Do not run `git commit`, `git push`, `git merge` or `git rebase` yourself.
- Run the project's tests{test_hint} and make them pass before you finish.
- Do not edit docs/ROADMAP.md; the daemon updates it when your work passes review checks.
- Never write secrets (API keys, tokens, passwords, private keys) into files.
- If something needs a person's decision, ask one clear question and stop.
- Finish with a short summary of what you changed and how you tested it, then one line
  `- [x] <deliverable>` for each deliverable you completed, written as it is listed above."""

#: Said when another daemon's checkpoint was restored into the worktree (``ClaimKeeper.continue_from``).
CONTINUED_NOTE = ("Another daemon started this priority and stopped before finishing. Its work so far is in "
                  "the worktree as uncommitted changes. Review it, keep what is right, and finish the "
                  "priority from there rather than starting over.")


def build_prompt(
    priority: Priority,
    *,
    branch: str,
    guidelines: Sequence[tuple[str, str]] = (),
    guidance_files: Sequence[tuple[str, str]] = (),
    test_command: str | None = None,
    feedback: str | None = None,
    continues_other_work: bool = False,
    max_section_chars: int = 40_000,
) -> str:
    """The priority's section and deliverables, the roadmap's guidelines, the repo's guidance files,
    and the daemon's rules. ``feedback`` (gate failures, review comments) is appended when the agent
    is asked to fix its work; ``continues_other_work`` when the worktree holds another daemon's work in
    progress (its claim expired and this daemon took the priority over)."""
    parts = [f"# Implement {priority.id}: {priority.title}", ""]
    section = priority.text
    if len(section) > max_section_chars:
        section = section[:max_section_chars] + "\n… (section truncated)"
    parts += ["## The roadmap section", "", section.rstrip(), ""]
    open_items = [d for d in priority.deliverables if not d.checked]
    if open_items:
        parts += ["## Deliverables still open", ""]
        parts += [f"- {d.text}" for d in open_items]
        parts.append("")
    for title, body in guidelines:
        parts += [f"## Project guideline: {title}", "", body.strip(), ""]
    for name, body in guidance_files:
        parts += [f"## Repository guidance ({name})", "", body.strip(), ""]
    test_hint = f" (`{test_command}`)" if test_command else ""
    parts += [DAEMON_RULES.format(pid=priority.id, branch=branch, test_hint=test_hint), ""]
    if continues_other_work:
        parts += ["## Work already in progress", "", CONTINUED_NOTE, ""]
    if feedback:
        parts += ["## Fix this before finishing", "", feedback.strip(), ""]
    return "\n".join(parts)


def build_feedback_prompt(priority: Priority, *, feedback: str, test_command: str | None = None) -> str:
    """A follow-up turn in the same session: fix what the gate or the reviewers found."""
    test_hint = f" Run `{test_command}` before you finish." if test_command else ""
    return (
        f"The coffee_maker daemon checked your work on {priority.id} and it is not ready yet.\n\n"
        f"{feedback.strip()}\n\nPlease fix this on the same branch.{test_hint} "
        "Do not commit or push; the daemon does that."
    )
