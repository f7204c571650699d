"""The parsed roadmap: priorities in file order, warnings, and guideline sections."""

from __future__ import annotations

import re
from dataclasses import dataclass

from coffee_maker.types import Priority, RoadmapWarning

_ID_QUERY = re.compile(r"^(?:(?:priority)[\s-]*)?(\d+(?:\.\d+)*)$", re.IGNORECASE)


@dataclass(frozen=True)
class Roadmap:
    """What `parse_roadmap` returns: priorities in file order (duplicated ids kept, each
    with its own line), warnings sorted by line, and the guideline sections the daemon
    puts into the agent's prompt. Immutable, so the daemon can share one between threads."""

    priorities: tuple[Priority, ...]
    warnings: tuple[RoadmapWarning, ...]
    guidelines: tuple[tuple[str, str], ...] = ()
    line_count: int = 0

    def find(self, query: str) -> list[Priority]:
        """Every priority matching ``query``: `PRIORITY 2.5`, `priority 2.5`, `2.5`, `us-062`."""
        wanted = normalise_id(query)
        if wanted.startswith("US-") and wanted[3:].isdigit():  # `us-62` finds `US-062`
            number = int(wanted[3:])
            return [p for p in self.priorities if p.id.startswith("US-") and int(p.id[3:]) == number]
        return [p for p in self.priorities if p.id == wanted]

    def get(self, query: str) -> Priority | None:
        """The first priority with this id (file order), or None."""
        found = self.find(query)
        return found[0] if found else None

    def resolve(self, query: str, source: object = "the roadmap") -> Priority:
        """The priority ``query`` names, in any form `find` accepts; UsageError naming ``source`` otherwise.

        The one id resolution every command uses (`roadmap show`, `run --priority`, `retry`, `skip`).
        """
        from coffee_maker.errors import UsageError

        found = self.find(query)
        if not found:
            raise UsageError(f"{normalise_id(query)} is not a priority in {source} (see `coffee-maker roadmap list`).")
        return found[0]

    @property
    def ids(self) -> list[str]:
        return [p.id for p in self.priorities]


def normalise_id(query: str) -> str:
    """Accept the forms people type and return the canonical id."""
    text = query.strip()
    match = _ID_QUERY.match(text)
    if match:
        return f"PRIORITY {match.group(1)}"
    us = re.match(r"^us[\s-]*(\d+)$", text, re.IGNORECASE)
    if us:
        return f"US-{us.group(1)}"
    return text
