"""A rule's glob means the same whether the engine matches a path forward or the index matches it reversed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from coffee_maker.config.rules import PermissionRule, RulesSettings
from coffee_maker.rules.engine import RuleEngine
from coffee_maker.rules.globs import glob_regex, glob_source
from coffee_maker.types import DecisionKind, PermissionRequest

PATHS = ["a/b", "a/x/b", "a/x/y/b", "ab", "x/a/b", ".ssh", "home/.ssh/id_rsa", "k.pem", "d/k.pem", "d/k.pem/x",
         ".env", "src/.env.local", "proc/1/environ", "proc/1/2/environ", "dev/sda1", ".aws", ".aws/creds", "x?y"]
GLOBS = sorted({r.path for r in RulesSettings().permissions if r.path}) + ["a/**/b", "a/*/b", "**", "x?y", "a**b"]


@pytest.mark.parametrize("glob", GLOBS)
def test_forward_and_reversed_globs_match_the_same_paths(glob: str) -> None:
    forward = glob_regex(glob)
    backward = re.compile(glob_source(glob, reverse=True))
    assert [p for p in PATHS if forward.match(p)] == [p for p in PATHS if backward.fullmatch(p[::-1])]


def test_a_double_star_between_directories_matches_none_in_a_shell_command_too(tmp_path: Path) -> None:
    """`a/**/b` matches `a/b`: the reversed translation once required a directory in between."""
    rule = PermissionRule(name="no-ab", tool="Bash", path="a/**/b", decision="deny", reason="Not a/…/b.")
    engine = RuleEngine(RulesSettings().model_copy(update={"extra_permissions": [rule]}), root=tmp_path,
                        test_command="make check")
    for command in ("cat a/b", "cat a/x/b"):
        decision = engine.permission(PermissionRequest("Bash", {"command": command}))
        assert (decision.kind, decision.source.detail) == (DecisionKind.DENY, "no-ab"), command
