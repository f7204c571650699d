"""Counts as a person writes them: "1 priority", "2 priorities", "1 file changed"."""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun, singular for exactly one (``plural`` for irregular nouns, else noun + "s")."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
