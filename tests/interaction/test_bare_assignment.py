"""`FOO=1` on its own runs nothing: it is decided like a harmless command, unless what it sets or runs is risky."""

from __future__ import annotations

from pathlib import Path

import pytest

from coffee_maker.config.rules import RulesSettings
from coffee_maker.rules.engine import RuleEngine
from coffee_maker.types import DecisionKind, PermissionRequest

CASES = [
    ("FOO=1", DecisionKind.ALLOW, "shell-assignment", None),
    ("A=1 B=2", DecisionKind.ALLOW, "shell-assignment", None),
    ('A=1; B="$HOME/x y"', DecisionKind.ALLOW, "shell-assignment", None),
    ("REV=$(git rev-parse HEAD)", DecisionKind.ALLOW, "git-read", None),  # the substitution is the part judged
    ("X=$(docker ps)", DecisionKind.ASK, "default", None),  # … and no rule allows it
    ("KEY=$(cat ~/.ssh/id_rsa)", DecisionKind.DENY, "secret-file-6", "secret"),
    ("PATH=/tmp/evil:$PATH", DecisionKind.ASK, "shaping-assignment", "persistence/self-permission"),
    ("PATH=$(pwd)/bin:$PATH", DecisionKind.ASK, "shaping-assignment", "persistence/self-permission"),
    ("LD_PRELOAD=/tmp/x.so", DecisionKind.ASK, "shaping-assignment", "persistence/self-permission"),
    ("T=$GITHUB_TOKEN", DecisionKind.DENY, "secret-assignment", "secret"),
    ("T=${!name}", DecisionKind.DENY, "secret-assignment", "secret"),
    ("X=1; f() { :; }", DecisionKind.ASK, "defines-function", "opaque-code"),  # defines something: not bare
    ("FOO=1; docker ps", DecisionKind.ASK, "default", None),  # a command runs: it decides, as before
    ("", DecisionKind.ASK, "default", None),
]


@pytest.mark.parametrize(("command", "kind", "rule", "risk"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_a_bare_assignment_is_judged_by_what_it_sets_and_runs(tmp_path: Path, command: str, kind: DecisionKind,
                                                               rule: str, risk: str | None) -> None:
    engine = RuleEngine(RulesSettings(), root=tmp_path, test_command="make check")
    decision = engine.permission(PermissionRequest("Bash", {"command": command}))
    assert (decision.kind, decision.source.name, decision.risk) == (kind, rule, risk)
    if risk is not None:
        assert decision.reason  # the person sees why
