"""Checks on the variables a line sets (`FOO=1`, `export PATH=…;`, `LD_PRELOAD=… cmd`): what they change later.

A statement's assignment holds for every command after it in the list (and a line of nothing but assignments
runs nothing, so it is judged by what it sets); a prefix holds for its own command. Either is risky when it
changes what runs (``shaping.changes_what_runs``: `PATH=/tmp/x:$PATH`, `LD_PRELOAD=…`, `GIT_SSH_COMMAND=…`),
and a statement is when it copies a credential into a name a later command can print unseen. What a `$(…)`
in a value runs is a part of its own, judged as one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from coffee_maker.rules.names import NOT_SECRET, SECRET_NAME
from coffee_maker.rules.subject import CommandSubject, Subject

_EXPANDED = re.compile(r"\$\{?!?([A-Za-z_][A-Za-z0-9_]*)")
#: `${!name}`, `${!prefix@}`: the value of a variable named by another — but `${!arr[@]}` is an array's keys
_INDIRECT = re.compile(r"\$\{!(?![A-Za-z_][A-Za-z0-9_]*\[[@*]\]\})")


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
    """A statement setting what later commands run: `PATH=/tmp/x:$PATH; pytest`, `export LD_PRELOAD=…`."""
    return bool(subject.shaping)


def secret_assignment(subject: Subject, tool_input: Mapping[str, Any]) -> bool:
    """A statement copying a credential (`X=$GITHUB_TOKEN; echo $X`, `X=${!name}`) into a name a later command reads."""
    if subject.parsed is None:
        return False
    for _, value in subject.parsed.assignments:
        if ("${!" in value and _INDIRECT.search(value)) or any(n not in NOT_SECRET and SECRET_NAME.search(n) for n in _EXPANDED.findall(value)):
            return True
    return False


def shaping_prefix(cmd: CommandSubject, root: Path | None = None) -> bool:
    """`LD_PRELOAD=/tmp/x.so pytest`, `env GIT_SSH_COMMAND=… git fetch`: the prefix changes what this command runs."""
    return bool(cmd.shaping)
