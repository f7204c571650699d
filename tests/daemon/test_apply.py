"""The applier does what the policy decided: plain Python parts (an in-memory store, a list for a notifier)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from coffee_maker.config import Config
from coffee_maker.daemon.apply import Applier
from coffee_maker.daemon.exits import AuthFailed, Failed, OverBudget, Paused
from coffee_maker.daemon.policy import StopForAuth
from coffee_maker.daemon.state import Phase, StateStore
from coffee_maker.daemon.status import LiveStatus, StatusBoard
from coffee_maker.errors import AgentAuthError
from coffee_maker.notify.channels import Notifier
from coffee_maker.types import OutcomeKind, Priority, SessionOutcome, Status

PRIORITY = Priority("PRIORITY 1", "Weather", 1, 3, 2, Status.PLANNED, "Planned", None)


class ListNotifier:
    """The Notifier protocol, keeping every notice."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.told: list[tuple[str, str | None, str]] = []

    def inform(self, message: str, *, priority: str | None = None, kind: str = "info") -> None:
        self.told.append((message, priority, kind))

    def close(self) -> None:
        return None


@pytest.fixture
def parts() -> tuple[Applier, StateStore, ListNotifier, list[float]]:
    store = StateStore(Path(":memory:"))
    notifier = ListNotifier()
    _: Notifier = notifier  # it is the real protocol's shape
    slept: list[float] = []
    config = Config.model_validate({"daemon": {"max_attempts": 2, "fallback_backend": None,
                                               "rate_limit_backoff_start_s": 10.0}})
    applier = Applier(config, notifier, store, StatusBoard(store), sleep=slept.append)
    store.transition(PRIORITY.id, Phase.BRANCHED, attempt=1)
    store.transition(PRIORITY.id, Phase.AGENT_RUNNING)
    return applier, store, notifier, slept


def test_a_retry_is_recorded_and_shown_but_not_told(parts: tuple[Applier, StateStore, ListNotifier, list[float]]) -> None:
    applier, store, notifier, _ = parts
    applier.apply(PRIORITY, applier.decide(PRIORITY, Failed("tests failed"), 1), None)
    state = store.get(PRIORITY.id)
    assert state is not None and state.phase is Phase.RETRY and state.attempt == 1 and state.reason == "tests failed"
    assert str(store.info()["last_outcome"]).startswith("PRIORITY 1: attempt 1 of 2 failed; next attempt at ")
    assert notifier.told == []


def test_a_block_is_recorded_and_told(parts: tuple[Applier, StateStore, ListNotifier, list[float]]) -> None:
    applier, store, notifier, _ = parts
    applier.apply(PRIORITY, applier.decide(PRIORITY, Failed("tests failed"), 2), None)
    state = store.get(PRIORITY.id)
    assert state is not None and state.phase is Phase.BLOCKED and state.attempt == 2
    assert [(p, k) for _, p, k in notifier.told] == [(PRIORITY.id, "blocked")]
    assert store.info()["last_outcome"] == "PRIORITY 1: blocked"


def test_pauses_sleep_each_time_but_tell_once(parts: tuple[Applier, StateStore, ListNotifier, list[float]]) -> None:
    applier, store, notifier, slept = parts
    limited = Paused(SessionOutcome(OutcomeKind.RATE_LIMIT))
    for _ in range(3):
        applier.apply(PRIORITY, applier.decide(PRIORITY, limited, 1), None)
    assert slept == [10.0, 20.0, 40.0]  # from rate_limit_backoff_start_s, doubling
    assert [k for _, _, k in notifier.told] == ["paused"]
    info = store.info()
    assert info["phase"] == LiveStatus.PAUSED.value and info["last_outcome"] == "PRIORITY 1: rate_limit"
    applier.decide(PRIORITY, Failed("x"), 1)
    assert applier.streaks == {}  # anything but a short limit starts the doubling over


def test_the_daily_cap_pauses_for_the_day(parts: tuple[Applier, StateStore, ListNotifier, list[float]]) -> None:
    applier, store, _, _ = parts
    applier.apply(PRIORITY, applier.decide(PRIORITY, OverBudget(daily=True, message="over"), 1), None)
    assert applier.daily_budget_hit
    assert store.info()["phase"] == "paused" and store.info()["last_outcome"] == "daily budget reached"
    assert store.info()["waiting_for"] == "the daily budget to reset tomorrow (daily_hard_cap_usd)"
    state = store.get(PRIORITY.id)
    assert state is not None and state.phase is Phase.AGENT_RUNNING  # nothing is blocked by the day's cap


def test_an_auth_failure_ends_the_run_and_gives_the_attempt_back(
        parts: tuple[Applier, StateStore, ListNotifier, list[float]]) -> None:
    applier, store, notifier, _ = parts
    action = applier.decide(PRIORITY, AuthFailed("401"), 1)
    assert action == StopForAuth("401", 0)
    with pytest.raises(AgentAuthError, match=r"^The coding agent cannot authenticate \(401\)\. .* Then start "):
        applier.apply(PRIORITY, action, None)
    state = store.get(PRIORITY.id)
    assert state is not None and state.phase is Phase.RETRY and state.attempt == 0
    assert [k for _, _, k in notifier.told] == ["error"]
