"""Configuration: `coffee_maker.toml` or `[tool.coffee_maker]`, overridden by COFFEE_MAKER_* env."""

from coffee_maker.config._loader import CONFIG_FILE, LoadedConfig, find_config_file, load_config
from coffee_maker.config.layout import StateLayout
from coffee_maker.config.model import Config

__all__ = ["CONFIG_FILE", "Config", "LoadedConfig", "find_config_file", "load_config", "StateLayout"]
