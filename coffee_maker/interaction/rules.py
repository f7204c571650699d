"""The rule engine, where the interaction layer has always found it (it lives in ``coffee_maker.rules``)."""

from __future__ import annotations

from coffee_maker.rules.engine import Judgement, RuleEngine, glob_regex
from coffee_maker.rules.shell import parse


def split_command(command: str) -> list[str]:
    """The simple commands inside a shell command line, as written (substitutions first: they run first)."""
    return [c.text for c in parse(command).commands]


__all__ = ["Judgement", "RuleEngine", "glob_regex", "split_command"]
