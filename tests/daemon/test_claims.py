"""Reading the agent's `- [x] …` claims back from its summary."""

from __future__ import annotations

from coffee_maker.daemon.claims import claimed_deliverables
from coffee_maker.types import Deliverable

ITEMS = (Deliverable("`summarize(temps)` in `weather/summary.py`", False, 3),
         Deliverable("Unit tests in `tests/test_summary.py`", False, 4))


def test_ticked_lines_name_deliverables_despite_backticks_case_and_a_remark() -> None:
    text = "Done.\n\n* [X] summarize(temps) in weather/summary.py — with docstring\n- [ ] Unit tests in tests/test_summary.py\n"
    assert claimed_deliverables([text], ITEMS) == ["`summarize(temps)` in `weather/summary.py`"]


def test_a_prefix_of_a_deliverable_or_a_prose_mention_is_no_claim() -> None:
    text = "- [x] Unit tests\nI wrote Unit tests in tests/test_summary.py too."
    assert claimed_deliverables([text], ITEMS) == []


def test_claims_from_every_session_count() -> None:
    assert claimed_deliverables(["- [x] Unit tests in `tests/test_summary.py`",
                                 "1. [x] `summarize(temps)` in `weather/summary.py`."], ITEMS) == [
        "`summarize(temps)` in `weather/summary.py`", "Unit tests in `tests/test_summary.py`"]
