"""Cost caps per priority and per day: a soft cap warns once, a hard cap pauses work."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class BudgetVerdict(StrEnum):
    OK = "ok"
    SOFT = "soft"  # over the soft cap: warn the person once, keep going
    HARD = "hard"  # over the hard cap: pause work and notify


@dataclass(frozen=True)
class BudgetCheck:
    verdict: BudgetVerdict
    message: str = ""


def check_budget(
    *,
    priority_id: str,
    priority_cost: float,
    day_cost: float,
    priority_soft: float | None,
    priority_hard: float | None,
    day_soft: float | None,
    day_hard: float | None,
) -> BudgetCheck:
    """The strictest verdict of the four caps (None = no cap)."""
    if priority_hard is not None and priority_cost >= priority_hard:
        return BudgetCheck(BudgetVerdict.HARD, f"{priority_id} has cost ${priority_cost:.2f}, at or over its hard cap of ${priority_hard:.2f}.")
    if day_hard is not None and day_cost >= day_hard:
        return BudgetCheck(BudgetVerdict.HARD, f"Today's agent cost is ${day_cost:.2f}, at or over the daily hard cap of ${day_hard:.2f}.")
    if priority_soft is not None and priority_cost >= priority_soft:
        return BudgetCheck(BudgetVerdict.SOFT, f"{priority_id} has cost ${priority_cost:.2f}, over its soft cap of ${priority_soft:.2f}.")
    if day_soft is not None and day_cost >= day_soft:
        return BudgetCheck(BudgetVerdict.SOFT, f"Today's agent cost is ${day_cost:.2f}, over the daily soft cap of ${day_soft:.2f}.")
    return BudgetCheck(BudgetVerdict.OK)
