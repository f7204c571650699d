"""What the pull-request loop does next — pure functions of what the forge showed and what was remembered.

The poller (``daemon/reviews.py``) asks the forge and acts; these functions only decide, with every
sentence the person will read, so each rule is tested in milliseconds with plain values:

- CI: wait (with back-off) while checks run; after ``ci_timeout_s`` tell the person once; a red check
  is reported when it is unrelated to the branch; otherwise it is re-run once on the same commit (never a
  fix round): green then means flaky or a lost runner, nothing to fix; red again and infrastructure is
  told; red again and real goes to the agent — at most ``ci_fix_rounds`` times, then the priority is
  blocked with the log link (branch and PR kept).
- Review threads: each handed over once, numbered; the agent may decline one with a line
  ``WONTFIX <number>: <reason>`` in its final message — that thread is answered with the reason and
  left open, the others are answered as fixed and resolved (``thread_replies``).
- Merging: only when opted in, approved by a person, every check green, mergeable and not a draft.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from coffee_maker.types import CheckRun, CiReport, CiState, LogExcerpt, PullRequest, ReviewThread
from coffee_maker.vcs.forge.triage import FailureKind
from coffee_maker.words import count

#: The longest wait between two looks at pending checks (the first is the poll interval; each doubles).
PENDING_MAX_S = 300.0


@dataclass(frozen=True)
class Feedback:
    """Work for the agent on an open PR, and what to do once the fix is pushed (reply in ``threads``)."""

    kind: Literal["review", "ci", "conflict"]
    prompt: str
    pr: PullRequest
    threads: tuple[ReviewThread, ...] = ()


@dataclass
class CiMemory:
    """What the loop saw of a PR's CI, kept in the state row's ``extra["ci"]`` so a restart repeats nothing."""

    sha: str = ""
    since: float = 0.0  # when the loop started following this sha
    polls: int = 0  # pending polls of this sha (the back-off)
    handled: bool = False  # this sha's red was acted on (re-run, told, sent to the agent) or its time-out told
    reruns: list[str] = field(default_factory=list)  # checks re-run on this sha
    rounds: int = 0  # CI fix rounds spent on the PR (across shas)

    @classmethod
    def load(cls, saved: Any) -> CiMemory:
        if not isinstance(saved, dict):
            return cls()
        return cls(str(saved.get("sha", "")), float(saved.get("since", 0.0)), int(saved.get("polls", 0)),
                   bool(saved.get("handled", False)), [str(n) for n in saved.get("reruns", [])],
                   int(saved.get("rounds", 0)))

    def dump(self) -> dict[str, Any]:
        return {"sha": self.sha, "since": self.since, "polls": self.polls, "handled": self.handled,
                "reruns": self.reruns, "rounds": self.rounds}

    def follow(self, sha: str, now: float) -> None:
        """A new head commit: its CI starts from nothing (the fix rounds carry on)."""
        if sha != self.sha:
            self.sha, self.since, self.polls, self.handled, self.reruns = sha, now, 0, False, []


@dataclass(frozen=True)
class Wait:
    """Nothing to do now; look again no sooner than ``next_s`` from now."""

    next_s: float


@dataclass(frozen=True)
class Green:
    pass


@dataclass(frozen=True)
class Rerun:
    check: CheckRun
    note: str


@dataclass(frozen=True)
class Tell:
    """Say ``notice`` to the person once; nothing is fixed."""

    notice: str


@dataclass(frozen=True)
class FixCi:
    check: CheckRun
    prompt: str


@dataclass(frozen=True)
class BlockCi:
    reason: str
    notice: str


CiAction = Wait | Green | Rerun | Tell | FixCi | BlockCi


def pending_wait(polls: int, interval_s: float) -> float:
    """Back-off while checks run: the poll interval, then twice that, four times … up to five minutes."""
    return float(min(PENDING_MAX_S, max(interval_s, 0.0) * 2 ** min(max(0, polls), 16)))


def ci_waiting(report: CiReport, memory: CiMemory, *, pid: str, timeout_s: float, now: float,
               interval_s: float) -> Wait | Tell | Green | None:
    """Before a red check is looked at: green, still pending (or timed out), nothing to report — or None (red).

    No report yet (CI has not started, or there is none) is looked at again at the poll interval.
    """
    if report.state is CiState.GREEN:
        return Green()
    if report.state is CiState.NONE:
        return Wait(0.0)
    if report.state is CiState.PENDING:
        if now - memory.since >= timeout_s:
            waiting = [c.name for c in report.checks if c.conclusion is None]
            return Tell(f"{pid}: CI on {memory.sha[:7]} has not finished after {timeout_s / 60:.0f} min "
                        f"(still running: {', '.join(waiting) or 'unknown'}); the daemon stops waiting for it.")
        return Wait(pending_wait(memory.polls, interval_s))
    return None


def red_check(check: CheckRun, kind: FailureKind, excerpt: LogExcerpt | None, memory: CiMemory, *, pid: str,
              pr: PullRequest, rounds_allowed: int) -> Rerun | Tell | FixCi | BlockCi:
    """What to do with the first failing check of the head commit, once ``classify_failure`` said its kind."""
    link = (excerpt.url if excerpt is not None and excerpt.url else check.url) or pr.url
    # One re-run of the same commit before anything else: it costs CI minutes, not an agent run, and tells a
    # lost runner or a flaky test from a real failure.
    if kind in (FailureKind.INFRASTRUCTURE, FailureKind.REAL) and check.name not in memory.reruns \
            and check.job_id is not None:
        why = (f"failed outside the code ({check.failure_reason or check.conclusion or 'runner'})"
               if kind is FailureKind.INFRASTRUCTURE else "failed")
        return Rerun(check, f"{pid}: the check {check.name!r} {why}; re-running it once on the same commit.")
    if kind is FailureKind.FLAKY:
        return Tell(f"{pid}: the check {check.name!r} failed and passed on a re-run of the same commit (flaky); "
                    f"nothing to fix: {link}")
    if kind is FailureKind.INFRASTRUCTURE:
        return Tell(f"{pid}: the check {check.name!r} failed again outside the code after a re-run; "
                    f"please look at the runner: {link}")
    if kind is FailureKind.UNRELATED:
        return Tell(f"{pid}: the check {check.name!r} fails on files PR #{pr.number} does not touch; "
                    f"not asking the agent to fix it: {link}")
    if memory.rounds >= rounds_allowed:
        reason = (f"the CI check {check.name!r} still fails after {count(memory.rounds, 'fix round')} "
                  f"(ci_fix_rounds = {rounds_allowed}): {link}")
        return BlockCi(reason, f"{pid} is blocked: {reason}. The branch and PR #{pr.number} are kept; fix it there "
                               f"or raise [daemon] ci_fix_rounds, then `coffee-maker retry {pid}`.")
    return FixCi(check, ci_prompt(check, excerpt, link))


def ci_retry(rounds: int, rounds_allowed: int, *, pid: str, pr_number: int, what: str,
             failure: str) -> BlockCi | None:
    """A CI fix round that failed (its gate, the agent) is tried again as another round — unless none is left."""
    if rounds < rounds_allowed:
        return None
    why = " ".join(failure.split())[:200] or "it failed"
    reason = (f"the fix for {what} failed after {count(rounds, 'CI fix round')} (ci_fix_rounds = {rounds_allowed}); "
              f"the last one: {why}")
    return BlockCi(reason, f"{pid} is blocked: {reason}. The branch and PR #{pr_number} are kept; fix it there or "
                           f"raise [daemon] ci_fix_rounds, then `coffee-maker retry {pid}`.")


def ci_prompt(check: CheckRun, excerpt: LogExcerpt | None, link: str) -> str:
    """What the agent is told about a red check: which, the step, the log excerpt and the run's URL."""
    lines = [f"The CI check {check.name!r} failed on the pull request.", f"Run: {link}"]
    if excerpt is not None:
        if excerpt.step:
            lines.append(f"Failing step: {excerpt.step}")
        cut = " (cut to the lines that matter)" if excerpt.truncated else ""
        lines += ["", f"Log excerpt{cut}:", "```", excerpt.excerpt.strip(), "```"]
    return "\n".join(lines)


def review_prompt(threads: list[ReviewThread] | tuple[ReviewThread, ...]) -> str:
    """Review comments for the agent, numbered, each with where it points (path:line), and how to decline one."""
    items = []
    for number, t in enumerate(threads, 1):
        where = f" on {t.path}:{t.line}" if t.path and t.line else f" on {t.path}" if t.path else ""
        items.append(f"[{number}] {t.author}{where}: {t.body.strip()}")
    return ("Reviewers asked for changes on the pull request:\n\n" + "\n\n".join(items) + "\n\n"
            "Address each comment in the code. If you disagree with a comment and will not change the code for "
            "it, end your final message with one line per such comment, giving its number and your reason for "
            "the reviewer:\nWONTFIX <number>: <reason>\nThat reason is posted in the comment's thread; every "
            "other comment is answered as fixed by your commit.")


#: ``WONTFIX 2: reason`` on a line of its own; a list bullet, bold, ``#2``/``[2]`` and a dash instead of the colon
#: are forgiven — models decorate lines. The reference is the prompt's number or the forge's thread id.
_WONTFIX = re.compile(r"^[ \t>*_-]*WONTFIX\b[ \t*_]*[\[#]?(?P<ref>[^\s:\]]+?)\]?[ \t*_]*[:\u2014\u2013-][ \t]*"
                      r"(?P<reason>.*?)[ \t*_]*$", re.IGNORECASE | re.MULTILINE)


def declined(text: str, threads: tuple[ReviewThread, ...]) -> dict[str, str]:
    """Thread id → the agent's reason, for each ``WONTFIX`` line of its final ``text`` naming a handed thread.

    Why a line in the final message, not a tool or JSON: every agent backend has a final text, a keyword at
    the start of a line survives the prose and Markdown around it, and a short number (not a forge's opaque
    node id) is what a model copies without a slip. A line naming no handed thread is ignored.
    """
    by_ref = {str(n): t.id for n, t in enumerate(threads, 1)} | {t.id.lower(): t.id for t in threads}
    found: dict[str, str] = {}
    for match in _WONTFIX.finditer(text):
        thread_id = by_ref.get(match["ref"].lower())
        if thread_id is not None and thread_id not in found:
            found[thread_id] = match["reason"].strip() or "the agent chose not to change this (no reason given)"
    return found


def fix_summary(text: str) -> str:
    """The first line of the agent's final text that is not a WONTFIX line: what "Fixed in …" says."""
    for line in text.strip().splitlines():
        if line.strip() and not _WONTFIX.match(line):
            return line.strip()
    return "addressed the comment"


@dataclass(frozen=True)
class Reply:
    thread: ReviewThread
    body: str
    resolve: bool


def thread_replies(threads: tuple[ReviewThread, ...], final_text: str, sha: str) -> list[Reply]:
    """After the fix: a declined thread gets the reason and stays open; the others the commit (``sha``) and are
    resolved — or, when the fix changed nothing (``sha`` empty), what the agent said, left open for the reviewer."""
    reasons = declined(final_text, threads)
    summary = fix_summary(final_text)
    fixed = f"Fixed in {sha[:7]}: {summary}" if sha else f"No code change: {summary}"
    return [Reply(t, f"Not changed: {reasons[t.id]}", resolve=False) if t.id in reasons
            else Reply(t, fixed, resolve=bool(sha)) for t in threads]


def threads_to_address(threads: list[ReviewThread], seen: set[str], *, changes_requested: bool) -> list[ReviewThread]:
    """Unresolved threads not addressed yet: inline ones always, general ones when changes were requested."""
    return [t for t in threads if not t.resolved and t.id not in seen and (t.inline or changes_requested)]


@dataclass(frozen=True)
class MergeNow:
    method: Literal["merge", "squash", "rebase"]
    auto: bool  # enable the forge's auto-merge instead of merging now


def merge_decision(pr: PullRequest, ci: CiState | None, setting: str) -> MergeNow | str:
    """Merge only when opted in, approved by a person, green, mergeable and not a draft; else why not."""
    if setting == "off":
        return "merging is off ([forge] merge)"
    if not pr.approved:
        return "not approved by a person allowed to review"
    if pr.draft:
        return "a draft"
    if pr.mergeable is not True:
        return "not mergeable (yet)"
    if setting != "auto" and ci not in (CiState.GREEN, CiState.NONE):
        return "checks are not all green"
    if setting == "auto":
        return MergeNow("squash", auto=True)
    method: Literal["merge", "squash", "rebase"] = "merge" if setting == "merge" else \
        "rebase" if setting == "rebase" else "squash"
    return MergeNow(method, auto=False)
