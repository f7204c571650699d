"""What happens after an attempt ends — a pure function of the state, the exit and the settings.

``decide`` reads no store, tells nobody and never sleeps: it returns what to do, with every
sentence the person will see, and ``daemon/apply.py`` does it. So each rule (retry with a
growing delay, block after ``max_attempts``, pause for a limit, switch to the fallback agent,
stop at a budget cap, leave on shutdown) is tested in milliseconds with plain values.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from coffee_maker.config.daemon import DaemonSettings
from coffee_maker.daemon.exits import (
    AuthFailed,
    Exit,
    Failed,
    Interrupted,
    OverBudget,
    Paused,
    PrGone,
    Reached,
)
from coffee_maker.daemon.limits import SHORT_LIVED, limit_wait
from coffee_maker.daemon.state import (
    ACTIVE,
    FINISHED,
    IN_REVIEW,
    Phase,
    PriorityState,
    retry_delay,
    unblock_hint,
)
from coffee_maker.notify.channels import in_words
from coffee_maker.types import OutcomeKind, PRState, PullRequest
from coffee_maker.words import count


def clock(epoch: float) -> str:
    """A wall-clock time as a person reads it in a log line or `status`."""
    return time.strftime("%H:%M:%S", time.localtime(epoch))


@dataclass(frozen=True)
class Done:
    """The attempt reached a phase (normally pr_open): record it, nothing else to do."""

    outcome: str


@dataclass(frozen=True)
class Retry:
    """Count the failure and try again at ``at``."""

    at: float
    attempt: int
    reason: str
    summary: str  # the `status` line
    outcome: str = "failed"


@dataclass(frozen=True)
class Block:
    """``max_attempts`` failed: record the block on the branch, tell the person how to unblock it."""

    attempt: int
    reason: str
    secrets: bool
    notice: str
    outcome: str = "blocked"


@dataclass(frozen=True)
class Pause:
    """Wait ``wait_s`` for a limit to lift, then resume the same priority; the notice is told once per key."""

    until: float
    wait_s: float
    kind: OutcomeKind
    notice: str
    notice_key: str
    waiting_for: str

    @property
    def outcome(self) -> str:
        return self.kind.value


@dataclass(frozen=True)
class Fallback:
    """The main agent is limited: use ``backend`` until ``until``, without waiting."""

    until: float
    backend: str
    wait_s: float
    kind: OutcomeKind
    notice: str

    @property
    def outcome(self) -> str:
        return self.kind.value


@dataclass(frozen=True)
class StopForBudget:
    """A hard cap: the day's pauses all work (``block`` False), a priority's blocks that priority."""

    daily: bool
    block: bool
    message: str
    outcome: str = "budget"


@dataclass(frozen=True)
class StopForAuth:
    """Tell the person to log in and end the run; the priority waits without losing an attempt."""

    reason: str
    release_to_attempt: int | None  # the attempt number to put back (None: nothing to release)
    outcome: str = "auth_failed"


@dataclass(frozen=True)
class Leave:
    """Interrupted by a shutdown or a take-over: nothing is counted; the next start resumes the priority (a
    taken-over one goes to skipped when the lane next meets its claim held elsewhere, ``fleet.note_taken_over``)."""

    outcome: str = "interrupted"


Action = Done | Retry | Block | Pause | Fallback | StopForBudget | StopForAuth | Leave


def decide(state: PriorityState | None, exit: Exit, settings: DaemonSettings, *, priority: str, attempt: int,
           now: float, streak: int, fallback_active: bool) -> Action:
    """What to do after attempt number ``attempt`` of ``priority`` ended with ``exit``.

    ``state`` is the priority's stored state now; ``streak`` how many rate limits or overloads came
    just before this one; ``fallback_active`` whether the fallback agent is in use already.
    """
    match exit:
        case Reached(phase=phase):
            return Done("pr_open" if phase is Phase.PR_OPEN else phase.value)
        case Interrupted():
            return Leave()
        case PrGone(pr=pr):  # the poller records the merge or the close (``reviews.settle``): nothing failed
            return Done(pr.state.value)
        case Failed(reason=reason, secrets=secrets):
            return _failed(priority, attempt, reason, secrets, settings, now)
        case Paused(outcome=outcome):
            return _paused(priority, outcome.kind, limit_wait(
                outcome, streak, start_s=settings.rate_limit_backoff_start_s, ceiling_s=settings.usage_limit_backoff_s),
                outcome.reset_at is None, settings, now, fallback_active)
        case OverBudget(daily=daily, message=message):
            return over_budget(state, daily, message)
        case AuthFailed(reason=reason):
            release = state is not None and state.phase in ACTIVE | {Phase.PR_OPEN}
            return StopForAuth(reason, max(0, state.attempt - 1) if state is not None and release else None)
    raise AssertionError(f"unknown exit {exit!r}")


def over_budget(state: PriorityState | None, daily: bool, message: str) -> StopForBudget:
    """A hard cap, before or during an attempt: a blocked, reviewed or finished priority keeps its phase."""
    keeps = state is not None and state.phase in {Phase.BLOCKED, *IN_REVIEW, *FINISHED}
    return StopForBudget(daily=daily, block=not daily and not keeps, message=message)


def next_streak(exit: Exit, streak: int) -> int:
    """Rate limits and overloads in a row double each wait; anything else (a usage limit too) starts over."""
    return streak + 1 if isinstance(exit, Paused) and exit.outcome.kind in SHORT_LIVED else 0


def _failed(pid: str, attempt: int, reason: str, secrets: bool, settings: DaemonSettings, now: float) -> Action:
    if attempt >= settings.max_attempts:
        return Block(attempt, reason, secrets, f"{pid} is blocked after {count(attempt, 'failed attempt')}: {reason}\n"
                                               f"Fix the cause. {unblock_hint(pid)}")
    due = now + retry_delay(settings.retry_delay_s, attempt)
    return Retry(due, attempt, reason, f"attempt {attempt} of {settings.max_attempts} failed; "
                                       f"next attempt at {clock(due)}. {reason}")


def _paused(pid: str, kind: OutcomeKind, wait: float, no_reset_time: bool, settings: DaemonSettings, now: float,
            fallback_active: bool) -> Action:
    limit = kind.value.replace("_", " ")
    fallback = settings.fallback_backend
    if fallback and not fallback_active:
        return Fallback(now + wait, fallback, wait, kind, f"The agent hit a {limit} on {pid}; continuing with the "
                                                    f"{fallback} agent for {in_words(wait)}.")
    until = now + wait
    notice = (f"The agent hit a {limit} on {pid}; resuming the same priority at {clock(until)} (in {in_words(wait)})"
              + (f", then at doubling intervals up to {in_words(settings.usage_limit_backoff_s)} until it lifts."
                 if kind in SHORT_LIVED and no_reset_time else "."))
    return Pause(until, wait, kind, notice, f"{pid}:{kind.value}", f"the agent's {limit} to reset at {clock(until)}")


def closed_pull_request(pid: str, pr: PullRequest) -> Block | None:
    """A pull request closed without merge blocks its priority (the person said no)."""
    if pr.state is not PRState.CLOSED:
        return None
    return Block(0, "its pull request was closed without merge", False,
                 f"{pid}: PR #{pr.number} was closed without merge; the priority is blocked. {unblock_hint(pid)}")
