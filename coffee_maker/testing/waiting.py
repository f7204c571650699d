"""Wait for a condition with a deadline — the one way tests synchronise with threads and processes.

A fixed sleep is either too short on a loaded machine (a flaky test) or too long everywhere (a
slow one); an unbounded loop hangs the suite. This returns as soon as the condition holds and
fails with a sentence naming what never happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T | None], *, timeout_s: float = 60.0, what: str = "the condition",
               interval_s: float = 0.05) -> T:
    """Call ``condition`` until it returns something true, and return that; AssertionError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(interval_s)
