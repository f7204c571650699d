"""Change a test project's coffee_maker.toml by key, not by replacing text.

``str.replace("poll_interval_s = 2", …)`` silently does nothing once the starter config says
``poll_interval_s = 2.0`` or moves the key; a key set through a TOML parser either lands in its
table or is added there. tomlkit keeps the file's comments and layout, so the file stays readable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def set_config(path: Path, table: str, **values: Any) -> None:
    """Set ``values`` in ``table`` (dotted for nested ones) of the TOML file at ``path``; a missing table is added.

    ``set_config(project / "coffee_maker.toml", "daemon", poll_interval_s=3600, max_attempts=2)``
    """
    import tomlkit

    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    node: Any = document
    for name in table.split("."):
        if name not in node:
            node[name] = tomlkit.table()
        node = node[name]
    for key, value in values.items():
        node[key] = value
    path.write_text(tomlkit.dumps(document), encoding="utf-8")
