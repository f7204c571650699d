"""Facts: the attempt writes, the decision thread reads a consistent copy."""

from __future__ import annotations

import threading

from coffee_maker.interaction.facts import Facts


def test_update_and_item_writes_show_in_the_copy() -> None:
    facts = Facts({"tests_passed": False, "branch": "b"})
    facts.update(tests_passed=True, changes_valid=True)
    facts["files_modified"] = 3
    assert facts.copy() == {"tests_passed": True, "branch": "b", "changes_valid": True, "files_modified": 3}
    assert facts["files_modified"] == 3


def test_a_copy_is_not_changed_by_later_writes() -> None:
    facts = Facts({"tests_passed": False})
    seen = facts.copy()
    facts.update(tests_passed=True)
    assert seen == {"tests_passed": False} and facts.copy() == {"tests_passed": True}


def test_a_reader_never_sees_half_of_an_update() -> None:
    """Two facts written together are read together, however the threads interleave."""
    facts = Facts({"run": 0, "also_run": 0})
    done = threading.Event()

    def write() -> None:
        for n in range(1, 20_001):
            facts.update(run=n, also_run=n)
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    torn = []
    while not done.is_set():
        seen = facts.copy()
        if seen["run"] != seen["also_run"]:
            torn.append(seen)
    writer.join(timeout=30)
    assert not writer.is_alive() and torn == [] and facts.copy() == {"run": 20_000, "also_run": 20_000}
