""""Always allow" answers, saved as permission rules in ``<state_dir>/learned_rules.toml``.

Why a separate file, appended to: the person's configuration file stays theirs
(no rewriting of comments or order); each saved rule records who and when, and
the file is merged in at the next load, ahead of the configured rules.
"""

from __future__ import annotations

import json
import re
import threading
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from coffee_maker.config.rules import PermissionRule
from coffee_maker.errors import ConfigError
from coffee_maker.rules.subject import command_of, main_path
from coffee_maker.types import PermissionRequest

_HEADER = "# Rules saved from 'always' answers. coffee-maker appends here; edit or delete freely.\n"


def _toml_value(value: object) -> str:
    """A TOML scalar: a JSON string is a valid TOML basic string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(str(value), ensure_ascii=False)


class LearnedRules:
    """Load and append the learned-rules file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def load(self) -> list[PermissionRule]:
        if not self.path.exists():
            return []
        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
            return [PermissionRule(**raw) for raw in data.get("permissions", [])]
        except (tomllib.TOMLDecodeError, ValidationError, TypeError) as exc:
            raise ConfigError(f"{self.path} is not a valid learned-rules file ({exc}); fix or delete it.") from None

    def rule_for(self, request: PermissionRequest, who: str, root: Path | None = None) -> PermissionRule:
        """The narrowest rule that allows this exact request again (paths relative to ``root``, as rules match).

        A command is saved as the whole command line, matched whole: no part of it alone, no other chain.
        """
        command = command_of(request.input)
        path = main_path(request.input, root)
        return PermissionRule(
            name=f"learned-{request.tool.lower()}-{int(time.time() * 1000)}", tool=request.tool, decision="allow",
            command=("^" + re.escape(command.strip()) + "$") if command else None,
            path=path if path and not command else None,
            saved_by=who, saved_at=datetime.now(UTC).isoformat(timespec="seconds"))

    def add(self, request: PermissionRequest, who: str, root: Path | None = None) -> PermissionRule:
        """Append one ``[[permissions]]`` table; the file is never rewritten."""
        rule = self.rule_for(request, who, root)
        lines = ["", "[[permissions]]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in rule.model_dump(exclude_none=True).items()]
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new = not self.path.exists()
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write((_HEADER if new else "") + "\n".join(lines) + "\n")
        return rule
