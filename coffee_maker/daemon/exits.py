"""How one attempt ended: the attempt pipeline's only way out, as mini-swe-agent's loop exits.

Why one family: the loop used to catch five unrelated exception types and guess from each
what had happened. Now ``AttemptRunner.run`` returns exactly one of these, and the pure
policy (``daemon/policy.py``) decides from it what comes next.
"""

from __future__ import annotations

from dataclasses import dataclass

from coffee_maker.daemon.state import Phase
from coffee_maker.types import PullRequest, SessionOutcome


@dataclass(frozen=True)
class Reached:
    """The pipeline got as far as it goes: normally ``pr_open``."""

    phase: Phase


@dataclass(frozen=True)
class Failed:
    """No mergeable work (the gate, the agent, git or the forge); ``secrets``: the gate saw one."""

    reason: str
    secrets: bool = False


@dataclass(frozen=True)
class Paused:
    """The agent hit a usage or rate limit, or an overload: wait and resume the same priority."""

    outcome: SessionOutcome


@dataclass(frozen=True)
class AuthFailed:
    """The agent cannot authenticate: nothing works until a person logs in."""

    reason: str


@dataclass(frozen=True)
class OverBudget:
    """A hard cost cap is reached; ``daily`` tells the day's cap from the priority's."""

    daily: bool
    message: str


@dataclass(frozen=True)
class Interrupted:
    """The daemon is stopping, or another daemon took the priority over: the attempt ends without counting
    as a failure (a stopping daemon resumes it at its next start; a taken-over one is left to its heir)."""


@dataclass(frozen=True)
class PrGone:
    """A person merged or closed the PR while the agent fixed feedback on it: the fix is dropped, not pushed."""

    pr: PullRequest


Exit = Reached | Failed | Paused | AuthFailed | OverBudget | Interrupted | PrGone


class AttemptExit(Exception):  # noqa: N818 — it is an exit, not an error: the pipeline leaves through it
    """Leave the attempt pipeline from deep inside it; ``AttemptRunner.run`` returns ``exit``."""

    def __init__(self, exit: Exit) -> None:
        super().__init__(_words(exit))
        self.exit = exit


def _words(exit: Exit) -> str:
    """The exit as the trace's status message shows it."""
    match exit:
        case Failed(reason=text) | AuthFailed(reason=text) | OverBudget(message=text):
            return text
        case Paused(outcome=outcome):
            return outcome.reason or outcome.kind.value
        case Reached(phase=phase):
            return phase.value
        case PrGone(pr=pr):
            return f"PR #{pr.number} was {pr.state.value} by a person during the fix"
    return "interrupted by shutdown"
