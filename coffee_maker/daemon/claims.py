"""Which deliverables the agent says it completed.

The daemon verifies the whole change (tests, secret scan, a real diff), never a
deliverable one by one. What it can honestly record per deliverable is the
agent's own claim: the prompt asks the agent to end with a checklist line
``- [x] <deliverable>`` for each one it finished, and this module reads them
back. A deliverable is claimed when a ticked line names it (case, backticks and
spacing aside; a trailing remark after it is allowed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from coffee_maker.types import Deliverable

_TICKED = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s*\[[xX✓✔]\]\s*(.+?)\s*$", re.MULTILINE)


def _plain(text: str) -> str:
    return " ".join(text.replace("`", "").replace("*", "").lower().split()).rstrip(".")


def claimed_deliverables(texts: Iterable[str], deliverables: Sequence[Deliverable]) -> list[str]:
    """The texts of the ``deliverables`` that a ``- [x] …`` line in ``texts`` names, in roadmap order."""
    ticked = [_plain(m.group(1)) for text in texts for m in _TICKED.finditer(text)]
    claimed = []
    for d in deliverables:
        wanted = _plain(d.text)
        if wanted and any(line == wanted or line.startswith(wanted + " ") for line in ticked):
            claimed.append(d.text)
    return claimed
