"""A commented starter config generated from the model, so it never drifts from it."""

from __future__ import annotations

import json
from typing import Any, get_args

from pydantic import BaseModel

from coffee_maker.config.model import Config


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        # TOML has no null: a key left unset is simply not written.
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items() if v is not None) + " }"
    return json.dumps(value)


#: What to show for a key that is unset by default, so that uncommenting the line gives valid TOML.
_EXAMPLES: dict[tuple[str, str], Any] = {
    ("agent", "model"): "sonnet", ("agent", "script"): "agent-script.json",
    ("git", "default_branch"): "main", ("git", "test_command"): "pytest -q",
    ("git", "worktree_dir"): ".coffee_maker/worktrees", ("forge", "api_url"): "https://api.github.com",
    ("forge", "repository"): "your-org/your-repo",
    ("forge", "token"): "paste-a-token-here", ("forge", "token_env"): "GITHUB_TOKEN",
    ("daemon", "priority_soft_cap_usd"): 2.0, ("daemon", "priority_hard_cap_usd"): 5.0,
    ("daemon", "daily_soft_cap_usd"): 10.0, ("daemon", "daily_hard_cap_usd"): 20.0,
    ("daemon", "fallback_backend"): "codex", ("forge", "reviewers_allowed"): ["a-maintainer"],
}
_BY_TYPE: dict[Any, Any] = {str: "", int: 0, float: 0.0, bool: False}


def _example(section: str, key: str, annotation: Any) -> Any:
    if (section, key) in _EXAMPLES:
        return _EXAMPLES[section, key]
    members = [a for a in get_args(annotation) if a is not type(None)] or [annotation]
    return next((_BY_TYPE[m] for m in members if m in _BY_TYPE), "")


def starter_config_text() -> str:
    """Every section and key with its description and default, commented out."""
    lines = [
        "# coffee_maker configuration. Every key is optional; the values shown are the defaults.",
        "# Uncomment and change what you need. Environment variables override this file:",
        "# COFFEE_MAKER_<SECTION>__<KEY>, e.g. COFFEE_MAKER_AGENT__MODEL=opus.",
        "# `coffee-maker config show` prints the effective values and where each came from.",
        "",
    ]
    defaults = Config().model_dump(mode="json")
    for section, info in Config.model_fields.items():
        model = info.annotation
        lines.append(f"[{section}]")
        if isinstance(model, type) and issubclass(model, BaseModel) and model.__doc__:
            lines.append(f"# {model.__doc__.strip().splitlines()[0]}")
        fields = model.model_fields if isinstance(model, type) and issubclass(model, BaseModel) else {}
        for key, field in fields.items():
            if field.description:
                lines.append(f"# {field.description}")
            value = defaults[section][key]
            if value is None:
                example = _toml_value(_example(section, key, field.annotation))
                lines.append(f"# {key} = {example}  # an example: unset by default")
            elif isinstance(value, (list, dict)) and value and isinstance(next(iter(value)), dict):
                lines.append(f"# {key}: built in ({len(value)} entries); `coffee-maker config show --all` lists "
                             f"them. Add your own in extra_{key} rather than replacing these.")
            else:
                lines.append(f"# {key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)
