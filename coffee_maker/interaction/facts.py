"""The facts question rules are judged with (tests_passed, changes_valid, branch, …), with one owner.

The attempt writes them as it goes (the gate passed, the agent's last words) while the agent's
decision thread reads them; the lock makes every read a consistent copy, so a question never sees
``tests_passed`` from one gate run and ``changes_valid`` from the next.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Protocol


class FactsView(Protocol):
    """What a decision reads: a copy of the facts as they are now (a ``dict`` or :class:`Facts`)."""

    def copy(self) -> dict[str, Any]: ...


class Facts:
    """Facts owned by one attempt: ``update``/``facts[key] = value`` to write, ``copy()`` to read."""

    def __init__(self, initial: Mapping[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, Any] = dict(initial or {})

    def update(self, **values: Any) -> None:
        """Change several facts at once; a reader sees all of them or none."""
        with self._lock:
            self._values.update(values)

    def __setitem__(self, key: str, value: Any) -> None:
        with self._lock:
            self._values[key] = value

    def __getitem__(self, key: str) -> Any:
        with self._lock:
            return self._values[key]

    def copy(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._values)

    def __repr__(self) -> str:
        return f"Facts({self.copy()!r})"
