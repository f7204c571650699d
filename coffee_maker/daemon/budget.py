"""Cost caps per priority and per day: a soft cap warns once, a hard cap stops spending.

``check_budget`` is pure: it reports every cap that is crossed (so the daily soft cap is
reported even while a priority's hard cap decides) and the strictest verdict.
``BudgetGuard`` applies it before every agent session — the first one, each gate-fix
round and a resumed one — and tells each crossing to the person once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import structlog

from coffee_maker.config.daemon import DaemonSettings
from coffee_maker.daemon.exits import AttemptExit, OverBudget

log = structlog.get_logger(__name__)


class BudgetVerdict(StrEnum):
    OK = "ok"
    SOFT = "soft"  # over the soft cap: warn the person once, keep going
    HARD = "hard"  # over the hard cap: stop spending and notify


@dataclass(frozen=True)
class CapCrossing:
    """One cap that is reached; ``key`` names the cap (not the cost), so it is told once."""

    key: str
    verdict: BudgetVerdict
    message: str
    daily: bool


@dataclass(frozen=True)
class BudgetCheck:
    verdict: BudgetVerdict
    message: str = ""
    crossings: tuple[CapCrossing, ...] = ()

    @property
    def daily_hard(self) -> bool:
        return any(c.daily and c.verdict is BudgetVerdict.HARD for c in self.crossings)


def check_budget(
    *,
    priority_id: str,
    priority_cost: float,
    day_cost: float,
    priority_soft: float | None,
    priority_hard: float | None,
    day_soft: float | None,
    day_hard: float | None,
    day: str = "",
) -> BudgetCheck:
    """Every crossed cap, strictest first; the verdict and message are the strictest one's (None = no cap)."""
    crossings: list[CapCrossing] = []
    if priority_hard is not None and priority_cost >= priority_hard:
        crossings.append(CapCrossing(
            f"priority-hard:{priority_id}", BudgetVerdict.HARD,
            f"{priority_id} has cost ${priority_cost:.2f}, at or over its hard cap of ${priority_hard:.2f}.", False))
    if day_hard is not None and day_cost >= day_hard:
        crossings.append(CapCrossing(
            f"daily-hard:{day}", BudgetVerdict.HARD,
            f"Today's agent cost is ${day_cost:.2f}, at or over the daily hard cap of ${day_hard:.2f}.", True))
    if priority_soft is not None and priority_cost >= priority_soft:
        crossings.append(CapCrossing(
            f"priority-soft:{priority_id}", BudgetVerdict.SOFT,
            f"{priority_id} has cost ${priority_cost:.2f}, over its soft cap of ${priority_soft:.2f}.", False))
    if day_soft is not None and day_cost >= day_soft:
        crossings.append(CapCrossing(
            f"daily-soft:{day}", BudgetVerdict.SOFT,
            f"Today's agent cost is ${day_cost:.2f}, over the daily soft cap of ${day_soft:.2f}.", True))
    if not crossings:
        return BudgetCheck(BudgetVerdict.OK)
    # Hard caps first; between two hard caps the daily one wins (it stops everything, not one priority).
    crossings.sort(key=lambda c: (c.verdict is not BudgetVerdict.HARD, not c.daily))
    return BudgetCheck(crossings[0].verdict, crossings[0].message, tuple(crossings))


def remaining_allowance(*, priority_cost: float, day_cost: float, priority_hard: float | None,
                        day_hard: float | None) -> float | None:
    """How much one more session may cost before it crosses a hard cap (None: no hard cap)."""
    left = [cap - spent for cap, spent in ((priority_hard, priority_cost), (day_hard, day_cost)) if cap is not None]
    return max(0.0, min(left)) if left else None


class BudgetGuard:
    """The caps from [daemon], checked before each session; each crossing is told once."""

    def __init__(self, settings: DaemonSettings, *, priority_cost: Callable[[str], float], day_cost: Callable[[str], float],
                 inform: Callable[[str, str], None]) -> None:
        self.settings = settings
        self._priority_cost = priority_cost
        self._day_cost = day_cost
        self._inform = inform
        self._told: set[str] = set()

    def check(self, priority_id: str) -> BudgetCheck:
        day = time.strftime("%Y-%m-%d")
        s = self.settings
        check = check_budget(
            priority_id=priority_id, priority_cost=self._priority_cost(priority_id), day_cost=self._day_cost(day),
            priority_soft=s.priority_soft_cap_usd, priority_hard=s.priority_hard_cap_usd,
            day_soft=s.daily_soft_cap_usd, day_hard=s.daily_hard_cap_usd, day=day)
        for crossing in check.crossings:
            if crossing.key not in self._told:
                self._told.add(crossing.key)
                log.warning("budget cap reached", cap=crossing.key.split(":", 1)[0], message=crossing.message)
                self._inform(crossing.message, priority_id)
        return check

    def hard_stop(self, priority_id: str) -> OverBudget | None:
        """The hard cap that is reached (told once), or None; soft caps are told once too."""
        check = self.check(priority_id)
        return OverBudget(daily=check.daily_hard, message=check.message) if check.verdict is BudgetVerdict.HARD else None

    def before_session(self, priority_id: str) -> float | None:
        """Leave the attempt (``OverBudget``) at a hard cap; else the most the session may cost (None: unlimited)."""
        stop = self.hard_stop(priority_id)
        if stop is not None:
            raise AttemptExit(stop)
        s = self.settings
        return remaining_allowance(priority_cost=self._priority_cost(priority_id),
                                   day_cost=self._day_cost(time.strftime("%Y-%m-%d")),
                                   priority_hard=s.priority_hard_cap_usd,
                                   day_hard=s.daily_hard_cap_usd)
