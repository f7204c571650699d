"""A commented starter config generated from the model, so it never drifts from it."""

from __future__ import annotations

import json
from typing import Any

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
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


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
                lines.append(f"# {key} =")
            elif isinstance(value, (list, dict)) and value and isinstance(next(iter(value)), dict):
                lines.append(f"# {key}: see the documentation (structured default)")
            else:
                lines.append(f"# {key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)
