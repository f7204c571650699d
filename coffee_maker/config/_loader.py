"""Find, read and validate the configuration; explain errors in one sentence each."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from coffee_maker.config.model import ENV_NESTED_DELIMITER, ENV_PREFIX, Config
from coffee_maker.errors import ConfigError

CONFIG_FILE = "coffee_maker.toml"
PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class LoadedConfig:
    """The validated config, where it came from, and where each value came from."""

    config: Config
    repo: Path
    source: Path | None  # the file read, or None when only defaults/env apply
    source_label: str  # "coffee_maker.toml", "pyproject.toml [tool.coffee_maker]" or "defaults"
    file_values: dict[str, Any] = field(default_factory=dict)
    env_keys: dict[str, str] = field(default_factory=dict)  # dotted key → env variable name

    def origin(self, dotted_key: str) -> str:
        """Where the effective value of ``dotted_key`` came from."""
        if dotted_key in self.env_keys:
            return f"env {self.env_keys[dotted_key]}"
        if _lookup(self.file_values, dotted_key) is not _MISSING:
            return self.source_label
        return "default"

    @property
    def roadmap_path(self) -> Path:
        # normpath, not resolve(): a symlinked roadmap keeps its own name in messages.
        return Path(os.path.normpath(self.repo / self.config.roadmap.path))

    @property
    def state_dir(self) -> Path:
        return self.repo / self.config.observe.state_dir

    @property
    def interaction_log_dir(self) -> Path:
        return self.repo / self.config.observe.interaction_log_dir


_MISSING = object()


def _lookup(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def find_config_file(repo: Path) -> tuple[Path | None, str, dict[str, Any]]:
    """The config file for ``repo`` and its raw table: coffee_maker.toml wins over pyproject.toml."""
    own = repo / CONFIG_FILE
    if own.is_file():
        return own, CONFIG_FILE, _read_toml(own)
    pyproject = repo / PYPROJECT
    if pyproject.is_file():
        table = _read_toml(pyproject).get("tool", {}).get("coffee_maker")
        if isinstance(table, dict):
            return pyproject, f"{PYPROJECT} [tool.coffee_maker]", table
    return None, "defaults", {}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}.") from exc
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror}.") from exc


def _env_keys() -> dict[str, str]:
    keys: dict[str, str] = {}
    for name in os.environ:
        if name.startswith(ENV_PREFIX):
            dotted = name[len(ENV_PREFIX):].lower().replace(ENV_NESTED_DELIMITER, ".")
            keys[dotted] = name
    return keys


def load_config(repo: str | Path = ".", *, roadmap: str | Path | None = None) -> LoadedConfig:
    """Read and validate the configuration of ``repo``; ``roadmap`` overrides roadmap.path."""
    repo_path = Path(repo).expanduser().resolve()
    if not repo_path.exists():
        raise ConfigError(f"The repository path {repo_path} does not exist.")
    if not repo_path.is_dir():
        raise ConfigError(f"The repository path {repo_path} is not a directory.")
    source, label, values = find_config_file(repo_path)
    env_keys = _env_keys()
    for dotted, name in env_keys.items():
        if dotted.split(".")[0] not in Config.model_fields:
            raise ConfigError(f"Unknown key `{dotted}` in environment variable {name}.")
    try:
        config = Config(**values)
    except ValidationError as exc:
        raise ConfigError(explain_validation_error(exc, label, env_keys)) from None
    if roadmap is not None:
        config = config.model_copy(
            update={"roadmap": config.roadmap.model_copy(
                # A path typed on the command line is relative to where it was typed.
                update={"path": os.path.abspath(Path(roadmap).expanduser())})}
        )
    return LoadedConfig(config, repo_path, source, label, values, env_keys)


def explain_validation_error(exc: ValidationError, label: str, env_keys: dict[str, str]) -> str:
    """One sentence per problem: the key, the file (or env variable), the expected type."""
    sentences = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        dotted = ".".join(loc)
        where = f"environment variable {env_keys[dotted]}" if dotted in env_keys else label
        if err["type"] == "extra_forbidden":
            sentences.append(f"Unknown key `{dotted}` in {where}.")
            continue
        expected = _expected_type(loc)
        got = err.get("input")
        sentences.append(
            f"`{dotted}` in {where} must be {expected}, got {got!r} ({err['msg']})."
        )
    return " ".join(sentences) if sentences else str(exc)


def _expected_type(loc: list[str]) -> str:
    model: Any = Config
    annotation: Any = None
    for part in loc:
        if isinstance(model, type) and issubclass(model, BaseModel) and part in model.model_fields:
            annotation = model.model_fields[part].annotation
            model = annotation
        else:
            break
    return _describe(annotation)


def _describe(annotation: Any) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    if annotation in names:
        return names[annotation]
    origin = get_origin(annotation)
    if origin is list:
        args = get_args(annotation)
        return f"a list of {_describe(args[0]).removeprefix('a ').removeprefix('an ')}s" if args else "a list"
    if origin is dict:
        return "a table"
    members = [a for a in get_args(annotation) if a is not type(None)]
    if members:
        return " or ".join(_describe(a) for a in members)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "a table"
    return "a valid value"
