"""A line that only sets shell variables (`FOO=1`, `A=1; B=$HOME`): it runs nothing, so it is judged by what it sets.

Harmless on its own, unless it sets a variable that changes what later commands run (`PATH`, `LD_PRELOAD`) or
copies a credential into another name; what a `$(…)` in a value runs is a part of its own, judged as one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from coffee_maker.rules.names import NOT_SECRET, RUN_SHAPING, SECRET_NAME
from coffee_maker.rules.subject import Subject

_EXPANDED = re.compile(r"\$\{?!?([A-Za-z_][A-Za-z0-9_]*)")


def _bare_assignments(subject: Subject) -> list[tuple[str, str]]:
    """`FOO=1` (`A=1; B=$HOME`) on its own: the line only sets shell variables, nothing else runs or is defined.

    What a `$(…)` in a value runs is a part of its own and judged as one (`X=$(cat ~/.ssh/id_rsa)` is denied)."""
    parsed = subject.parsed
    if parsed is None or subject.parse_error is not None or parsed.functions \
            or len(parsed.commands) != parsed.assignment_parts:
        return []
    return parsed.assignments


def bare_assignment(subject: Subject, tool_input: Mapping[str, Any]) -> bool:
    return bool(_bare_assignments(subject))


def shaping_assignment(subject: Subject, tool_input: Mapping[str, Any]) -> bool:
    """A bare assignment that matters to what runs later: `PATH=…`, `LD_PRELOAD=…`, `GIT_SSH_COMMAND=…`."""
    return any(RUN_SHAPING.match(name) for name, _ in _bare_assignments(subject))


def secret_assignment(subject: Subject, tool_input: Mapping[str, Any]) -> bool:
    """A bare assignment copying a credential (`X=$GITHUB_TOKEN`, `X=${!name}`) into a name a later command can print."""
    for _, value in _bare_assignments(subject):
        if "${!" in value or any(n not in NOT_SECRET and SECRET_NAME.search(n) for n in _EXPANDED.findall(value)):
            return True
    return False
