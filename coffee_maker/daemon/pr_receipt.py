"""The receipt in the PR body follows the PR between the daemon's pushes: the checks CI shows, the fix rounds.

The daemon's own push renders the body (``AttemptRunner._open_pr``); what changes later on the forge — a
check turning green or red, a CI or review round handed to the agent — rewrites it here, once per change.
What the receipt shows from the state row is fingerprinted (``receipt_key``), so an idle PR costs no call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from coffee_maker.daemon.record import AttemptRecord
from coffee_maker.daemon.services import Services
from coffee_maker.daemon.stacking import body_note, is_stacked, stack_below
from coffee_maker.daemon.state import PriorityState, StateStore
from coffee_maker.errors import CoffeeMakerError
from coffee_maker.types import Priority, PullRequest

log = structlog.get_logger(__name__)


def receipt_key(state: PriorityState | None, store: StateStore) -> list[Any]:
    """What of the state row the body shows beyond the attempt's record: checks seen, fix rounds, and
    whether it is stacked and on which PRs (a landed branch's body loses its "stacked on #N" note, and a
    chain's shortens as the PRs under it merge)."""
    extra = state.extra if state is not None else {}
    below = [s.pr_number for s in stack_below(state, store.get)] if state is not None else []
    return [list(extra.get("checks_seen") or []), int((extra.get("ci") or {}).get("rounds", 0)),
            int(extra.get("review_rounds", 0)), str(extra.get("stack") or ""), below]


def render_body(services: Services, priority: Priority, record: AttemptRecord, state: PriorityState | None,
                store: StateStore) -> str:
    """The PR body: the receipt, headed by the stacking note while the branch is stacked on an open PR."""
    body = services.pr_body(priority, record)
    if state is None or not is_stacked(state):
        return body
    return body_note(state, stack_below(state, store.get)) + body


class ReceiptKeeper:
    def __init__(self, store: StateStore, services: Services, priority_of: Callable[[str], Priority | None]) -> None:
        self.store, self.services = store, services
        self.priority_of = priority_of  # the roadmap's priority now (None: it left the roadmap)

    def refresh(self, state: PriorityState, pr: PullRequest) -> None:
        """Rewrite the body when what it shows changed; a forge failure is logged and tried on the next poll."""
        if state.extra.get("adopted_from"):  # its body is the receipt of the daemon that did the work: this one
            return                            # has no record of it, and would write an empty one over it
        key = receipt_key(state, self.store)
        if key == state.extra.get("receipt_key"):
            return
        if (body := self.body(state)) is None:  # gone from the roadmap: not rendered again until the next change
            self.store.update(state.priority, extra={"receipt_key": key})
            return
        try:
            self.services.forge.update_body(pr, body)
        except CoffeeMakerError as exc:  # the receipt is no reason to lose the feedback this poll handed over
            log.warning("could not refresh the receipt in the PR body", priority=state.priority, error=exc.message)
            return
        self.store.update(state.priority, extra={"receipt_key": key})
        log.debug("receipt refreshed", priority=state.priority, pr=pr.number)

    def body(self, state: PriorityState) -> str | None:
        """The body as the last push rendered it (its record is kept in the state row), with the state now."""
        priority = self.priority_of(state.priority)
        if priority is None or not state.branch:
            return None
        record = AttemptRecord(priority, state.attempt, state.branch)
        record.restore(state.extra.get("record"))
        return render_body(self.services, priority, record, state, self.store)
