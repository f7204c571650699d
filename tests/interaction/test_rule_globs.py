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


def test_the_index_finds_the_first_matching_glob_whatever_its_paths_segments_start_with() -> None:
    """The index folds only the globs a path's segment starts can match (`.` for `**/.ssh/**`): it still finds
    the first glob that matches, as trying every glob in order does — inside and outside, read and write."""
    from coffee_maker.rules.index import RuleIndex
    from coffee_maker.rules.paths import PathUse

    globs = [*GLOBS, "/etc/**", "**/x?y", "a/**", "**/.ssh/**"]
    accesses: list[str | None] = [("write" if i % 3 == 0 else None) for i in range(len(globs))]
    index = RuleIndex.build(globs, ["path"] * len(globs), [None] * len(globs), globs, accesses, [None] * len(globs))
    forward = [glob_regex(g) for g in globs]
    paths = [*PATHS, "src/m0_0/tests/test_0_0.py", "a/.ssh/k", "x/.env.prod", "b/secrets.toml", "src/id_rsa.pub"]
    checked = 0
    for raw in paths:
        for resolved, inside in ((raw, True), ("/" + raw, False), ("/home/u/" + raw, False), ("/etc/" + raw, False)):
            for write in (False, True):
                use = PathUse(raw, resolved, inside, write)
                expected = next((i for i, g in enumerate(forward) if (accesses[i] != "write" or write)
                                 and (g.match(resolved.lstrip("/")) or g.match(resolved))), None)
                assert index.first_path(use) == expected, (resolved, write)
                checked += expected is not None
    assert checked > 50  # the paths do hit rules, and not only the first one
