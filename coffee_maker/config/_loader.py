"""Find, read and validate the configuration; explain errors in one sentence each."""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_settings import SettingsError

from coffee_maker.config.layout import StateLayout
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
    #: Why the configuration could not be used (only with ``load_config(lenient=True)``): then
    #: ``config`` holds the defaults plus the paths that could still be read (state directory, roadmap).
    error: str | None = None

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
    def layout(self) -> StateLayout:
        """Every path under the state directory (see config/layout.py)."""
        worktree_dir = self.config.git.worktree_dir
        return StateLayout(self.state_dir, telemetry_name=self.config.observe.telemetry_db,
                           worktree_dir=self.repo / worktree_dir if worktree_dir else None)

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


def load_config(repo: str | Path = ".", *, roadmap: str | Path | None = None,
                lenient: bool = False) -> LoadedConfig:
    """Read and validate the configuration of ``repo``; ``roadmap`` overrides roadmap.path.

    With ``lenient``, a broken configuration does not raise: the result carries the error and the
    defaults with whatever paths could still be read, for commands that need only the state directory.
    """
    repo_path = Path(repo).expanduser().resolve()
    if not repo_path.exists():
        raise ConfigError(f"The repository path {repo_path} does not exist.")
    if not repo_path.is_dir():
        raise ConfigError(f"The repository path {repo_path} is not a directory.")
    source: Path | None = None
    label, values = "defaults", dict[str, Any]()
    env_keys = _env_keys()
    try:
        source, label, values = find_config_file(repo_path)
        config = _validate(values, label, env_keys)
    except ConfigError as exc:
        if not lenient:
            raise
        loaded = LoadedConfig(_paths_only(values), repo_path, source, label, values, env_keys, error=exc.message)
    else:
        loaded = LoadedConfig(config, repo_path, source, label, values, env_keys)
    if roadmap is not None:
        config = loaded.config.model_copy(
            update={"roadmap": loaded.config.roadmap.model_copy(
                # A path typed on the command line is relative to where it was typed.
                update={"path": os.path.abspath(Path(roadmap).expanduser())})}
        )
        loaded = LoadedConfig(config, repo_path, source, label, values, env_keys, error=loaded.error)
    return loaded


def _validate(values: dict[str, Any], label: str, env_keys: dict[str, str]) -> Config:
    for dotted, name in env_keys.items():
        section = dotted.split(".")[0]
        if section not in Config.model_fields:
            raise ConfigError(f"Unknown key `{dotted}` in environment variable {name}.{_did_you_mean(section)}")
    try:
        return Config(**values)
    except ValidationError as exc:
        raise ConfigError(explain_validation_error(exc, label, env_keys, values)) from None
    except SettingsError as exc:  # a complex value in the environment that is not JSON
        name = next((n for d, n in env_keys.items() if str(exc).find(f'"{d.split(".")[0]}"') >= 0), "COFFEE_MAKER_…")
        raise ConfigError(f"Environment variable {name} cannot be read: a list is written `a,b` or as JSON "
                          '(`["a", "b"]`), a table as JSON (`{"key": "value"}`).') from None


def _paths_only(values: dict[str, Any]) -> Config:
    """The defaults plus the state directory, interaction log directory and roadmap path, where readable."""
    from coffee_maker.config.observe import ObserveSettings
    from coffee_maker.config.roadmap import RoadmapSettings

    def wanted(section: str, key: str) -> str | None:
        env = os.environ.get(f"{ENV_PREFIX}{section.upper()}{ENV_NESTED_DELIMITER}{key.upper()}")
        table = values.get(section)
        value = env if env is not None else (table.get(key) if isinstance(table, dict) else None)
        return value if isinstance(value, str) and value.strip() else None

    observe = {k: v for k in ("state_dir", "interaction_log_dir") if (v := wanted("observe", k))}
    path = wanted("roadmap", "path")
    return Config.model_construct(observe=ObserveSettings.model_construct(**{**ObserveSettings().model_dump(),
                                                                             **observe}),
                                  roadmap=RoadmapSettings.model_construct(**{**RoadmapSettings().model_dump(),
                                                                             **({"path": path} if path else {})}))


def _did_you_mean(key: str, model: Any = None) -> str:
    """` Did you mean `x`?` for a mistyped key, from the keys the model knows (empty when nothing is close)."""
    known = list((model or Config).model_fields)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f" Did you mean `{close[0]}`?" if close else ""


def explain_validation_error(exc: ValidationError, label: str, env_keys: dict[str, str],
                             values: dict[str, Any] | None = None) -> str:
    """One sentence per problem: the key, the file (or env variable), the expected type."""
    from coffee_maker.rules.model import explain_rule_error

    sentences = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        rule_sentence = explain_rule_error(loc, err["msg"], values or {})
        if rule_sentence is not None:
            sentences.append(f"{rule_sentence[:-1]} (in {label}).")
            continue
        dotted = ".".join(loc)
        where = f"environment variable {env_keys[dotted]}" if dotted in env_keys else label
        if err["type"] == "extra_forbidden":
            parent = _model_at(loc[:-1])
            hint = _did_you_mean(loc[-1], parent) if parent is not None else ""
            sentences.append(f"Unknown key `{dotted}` in {where}.{hint}")
            continue
        got = err.get("input")
        bound = _bound(err)
        if bound is not None:
            sentences.append(f"`{dotted}` in {where} must be {bound}, got {got!r}.")
            continue
        if err["type"] == "value_error":  # a validator's own sentence says what is wrong better than a type
            sentences.append(f"`{dotted}` in {where} {str(err['msg']).removeprefix('Value error, ')}.")
            continue
        expected = _expected_type(loc)
        detail = "" if expected.startswith("one of") else f" ({err['msg']})"
        sentences.append(f"`{dotted}` in {where} must be {expected}, got {got!r}{detail}.")
    return " ".join(sentences) if sentences else str(exc)


_BOUNDS = {"greater_than_equal": ("ge", "at least {}"), "greater_than": ("gt", "greater than {}"),
           "less_than_equal": ("le", "at most {}"), "less_than": ("lt", "less than {}")}


def _bound(err: Any) -> str | None:
    """"at least 1" for a number out of its range (pydantic's own message names no key)."""
    kind = _BOUNDS.get(err["type"])
    ctx = err.get("ctx") or {}
    if kind is None or kind[0] not in ctx:
        return None
    limit = ctx[kind[0]]
    return kind[1].format(int(limit) if isinstance(limit, float) and limit.is_integer() else limit)


def _model_at(loc: list[str]) -> Any:
    """The model class at ``loc`` (Config for the top), or None when ``loc`` is not a table."""
    model: Any = Config
    for part in loc:
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return None
        model = _table_model(model.model_fields[part].annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _table_model(annotation: Any) -> Any:
    """`X | None` → X: a table that may be left out is still that table."""
    members = [a for a in get_args(annotation) if a is not type(None)]
    return members[0] if get_origin(annotation) is not None and len(members) == 1 else annotation


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
    if origin is Literal:
        return "one of " + ", ".join(f'"{a}"' for a in get_args(annotation))
    members = [a for a in get_args(annotation) if a is not type(None)]
    if members:
        described = list(dict.fromkeys(_describe(a) for a in members))  # never "a valid value or a valid value"
        return " or ".join(described)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "a table"
    return "a valid value"
