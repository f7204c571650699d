"""The failure policy, one rule per test: pure inputs in, a decision out — no git, processes or SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coffee_maker.config.daemon import DaemonSettings
from coffee_maker.daemon.budget import BudgetGuard
from coffee_maker.daemon.exits import (
    AttemptExit,
    AuthFailed,
    Exit,
    Failed,
    Interrupted,
    OverBudget,
    Paused,
    Reached,
)
from coffee_maker.daemon.policy import (
    Action,
    Block,
    Done,
    Fallback,
    Leave,
    Pause,
    Retry,
    StopForAuth,
    StopForBudget,
    clock,
    closed_pull_request,
    decide,
    next_streak,
)
from coffee_maker.daemon.state import Phase, PriorityState, attempt_number
from coffee_maker.types import OutcomeKind, PRState, PullRequest, SessionOutcome

NOW = 1_800_000_000.0
PID = "PRIORITY 1"
HINT = "Run `coffee-maker retry PRIORITY 1` (or edit its roadmap entry) to try again, or `coffee-maker skip PRIORITY 1` to leave it."


def settings(**overrides: object) -> DaemonSettings:
    return DaemonSettings.model_validate({"max_attempts": 3, "retry_delay_s": 30.0, "rate_limit_backoff_start_s": 10.0,
                                          "usage_limit_backoff_s": 900.0, **overrides})


def run(exit: Exit, *, state: PriorityState | None = None, attempt: int = 1, streak: int = 0,
        fallback_active: bool = False, **overrides: object) -> Action:
    return decide(state, exit, settings(**overrides), priority=PID, attempt=attempt, now=NOW, streak=streak,
                  fallback_active=fallback_active)


def limit(kind: OutcomeKind, reset_at: datetime | None = None) -> Paused:
    return Paused(SessionOutcome(kind, reason="limited", reset_at=reset_at))


def test_reaching_a_pull_request_is_recorded_as_done() -> None:
    assert run(Reached(Phase.PR_OPEN)) == Done("pr_open")


@pytest.mark.parametrize(("attempt", "delay"), [(1, 30.0), (2, 60.0)])
def test_a_failure_below_max_attempts_is_retried_after_a_doubling_delay(attempt: int, delay: float) -> None:
    action = run(Failed("the safety gate failed: 1 test failed"), attempt=attempt)
    assert action == Retry(NOW + delay, attempt, "the safety gate failed: 1 test failed",
                           f"attempt {attempt} of 3 failed; next attempt at {clock(NOW + delay)}. "
                           "the safety gate failed: 1 test failed")
    assert action.outcome == "failed"


def test_the_failure_at_max_attempts_blocks_and_says_how_to_unblock() -> None:
    action = run(Failed("the safety gate found a secret", secrets=True), attempt=3)
    assert action == Block(3, "the safety gate found a secret", True,
                           f"PRIORITY 1 is blocked after 3 failed attempts: the safety gate found a secret\n"
                           f"Fix the cause. {HINT}")
    assert action.outcome == "blocked"


def test_a_failure_after_an_earlier_block_limit_was_raised_still_blocks() -> None:
    assert isinstance(run(Failed("again"), attempt=5), Block)


def test_a_usage_limit_pauses_until_the_reported_reset() -> None:
    reset = datetime.fromtimestamp(NOW, UTC) + timedelta(hours=2)
    action = decide(None, limit(OutcomeKind.USAGE_LIMIT, reset), settings(), priority=PID, attempt=1,
                    now=NOW, streak=0, fallback_active=False)
    assert isinstance(action, Pause) and action.kind is OutcomeKind.USAGE_LIMIT
    assert action.notice_key == "PRIORITY 1:usage_limit"
    assert action.notice.startswith("The agent hit a usage limit on PRIORITY 1; resuming the same priority at ")
    assert action.notice.endswith(".") and "doubling" not in action.notice
    assert action.waiting_for == f"the agent's usage limit to reset at {clock(action.until)}"


@pytest.mark.parametrize(("streak", "wait"), [(0, 10.0), (1, 20.0), (2, 40.0), (6, 640.0), (7, 900.0), (12, 900.0)])
def test_rate_limits_in_a_row_double_the_pause_up_to_the_ceiling(streak: int, wait: float) -> None:
    action = run(limit(OutcomeKind.RATE_LIMIT), streak=streak)
    assert isinstance(action, Pause)
    assert action.wait_s == wait and action.until == NOW + wait
    assert action.notice.endswith(", then at doubling intervals up to 15 min until it lifts.")
    assert action.outcome == "rate_limit"


def test_only_short_lived_limits_in_a_row_grow_the_streak() -> None:
    assert next_streak(limit(OutcomeKind.RATE_LIMIT), 2) == 3
    assert next_streak(limit(OutcomeKind.OVERLOADED), 0) == 1
    assert next_streak(limit(OutcomeKind.USAGE_LIMIT), 4) == 0  # hours, not seconds: the next one starts over
    assert next_streak(Failed("x"), 4) == 0
    assert next_streak(Reached(Phase.PR_OPEN), 4) == 0


def test_a_limit_switches_to_the_fallback_agent_when_one_is_configured() -> None:
    action = run(limit(OutcomeKind.RATE_LIMIT), streak=1, fallback_backend="codex")
    assert action == Fallback(NOW + 20.0, "codex", 20.0, OutcomeKind.RATE_LIMIT,
                              "The agent hit a rate limit on PRIORITY 1; continuing with the codex agent for 20 s.")


def test_a_limit_of_the_fallback_agent_itself_pauses() -> None:
    assert isinstance(run(limit(OutcomeKind.RATE_LIMIT), fallback_backend="codex", fallback_active=True), Pause)


def test_the_daily_hard_cap_pauses_all_work_without_blocking() -> None:
    assert run(OverBudget(daily=True, message="Today's agent cost is $5.00")) == StopForBudget(
        daily=True, block=False, message="Today's agent cost is $5.00")


def test_a_priority_hard_cap_blocks_it_unless_it_is_blocked_reviewed_or_done_already() -> None:
    over = OverBudget(daily=False, message="PRIORITY 1 has cost $3.00")
    assert run(over, state=PriorityState(PID, Phase.AGENT_RUNNING)) == StopForBudget(False, True, over.message)
    assert run(over) == StopForBudget(False, True, over.message)
    for phase in (Phase.BLOCKED, Phase.PR_OPEN, Phase.DONE):
        action = run(over, state=PriorityState(PID, phase))
        assert isinstance(action, StopForBudget) and not action.block


def test_a_soft_cap_is_told_once_and_work_goes_on() -> None:
    told: list[tuple[str, str]] = []
    guard = BudgetGuard(settings(priority_soft_cap_usd=1.0), priority_cost=lambda _pid: 1.5,
                        day_cost=lambda _day: 0.0, inform=lambda message, pid: told.append((message, pid)))
    assert guard.hard_stop(PID) is None
    assert guard.before_session(PID) is None  # no hard cap: the session may spend freely
    assert told == [("PRIORITY 1 has cost $1.50, over its soft cap of $1.00.", PID)]


def test_a_hard_cap_reached_mid_attempt_leaves_it_over_budget() -> None:
    guard = BudgetGuard(settings(priority_hard_cap_usd=2.0), priority_cost=lambda _pid: 2.5,
                        day_cost=lambda _day: 0.0, inform=lambda _message, _pid: None)
    with pytest.raises(AttemptExit) as leaving:
        guard.before_session(PID)
    assert leaving.value.exit == OverBudget(daily=False, message="PRIORITY 1 has cost $2.50, at or over its hard "
                                                                 "cap of $2.00.")


def test_a_closed_pull_request_blocks_its_priority() -> None:
    pr = PullRequest(7, "https://forge/pr/7", "coffee-maker/priority-1", "main", "PRIORITY 1: x", PRState.CLOSED)
    assert closed_pull_request(PID, pr) == Block(
        0, "its pull request was closed without merge", False,
        f"PRIORITY 1: PR #7 was closed without merge; the priority is blocked. {HINT}")
    assert closed_pull_request(PID, PullRequest(7, "u", "b", "main", "t", PRState.OPEN)) is None


def test_an_attempt_interrupted_by_shutdown_is_not_counted() -> None:
    action = run(Interrupted(), attempt=3)  # the last allowed attempt: still neither retried nor blocked
    assert action == Leave() and action.outcome == "interrupted"


def test_an_auth_failure_stops_the_run_and_gives_the_attempt_back() -> None:
    assert run(AuthFailed("401"), state=PriorityState(PID, Phase.AGENT_RUNNING, attempt=2)) == StopForAuth("401", 1)
    assert run(AuthFailed("401"), state=PriorityState(PID, Phase.PLANNED)) == StopForAuth("401", None)


@pytest.mark.parametrize(("state", "number"), [
    (None, 1), (PriorityState(PID, Phase.PLANNED), 1), (PriorityState(PID, Phase.RETRY, attempt=2), 3),
    (PriorityState(PID, Phase.AGENT_RUNNING, attempt=2), 2), (PriorityState(PID, Phase.PR_OPEN, attempt=1), 1)])
def test_the_attempt_number_is_a_function_of_the_stored_state(state: PriorityState | None, number: int) -> None:
    assert attempt_number(state) == number
