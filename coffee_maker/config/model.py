"""The root configuration model: one section per subsystem."""

from __future__ import annotations

import json
from typing import Any, get_origin

from pydantic import Field
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from coffee_maker.config.agent import AgentSettings
from coffee_maker.config.daemon import DaemonSettings
from coffee_maker.config.git import ForgeSettings, GitSettings
from coffee_maker.config.notify import NotifySettings
from coffee_maker.config.observe import ObserveSettings
from coffee_maker.config.roadmap import RoadmapSettings
from coffee_maker.config.rules import RulesSettings
from coffee_maker.config.web import WebSettings

ENV_PREFIX = "COFFEE_MAKER_"
ENV_NESTED_DELIMITER = "__"


class _ListFriendlyEnv(EnvSettingsSource):
    """Environment overrides where a list may also be written comma-separated: `main,dev`.

    pydantic-settings reads a list-valued variable only as JSON (`["main","dev"]`); what people
    type first is the comma form, and it crashed the loader.
    """

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        try:
            return super().decode_complex_value(field_name, field, value)
        except json.JSONDecodeError:
            if field is not None and get_origin(field.annotation) is list and isinstance(value, str):
                return [item.strip() for item in value.split(",") if item.strip()]
            raise


class Config(BaseSettings):
    """Everything the daemon and its commands can be told. Env overrides the file."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        extra="forbid",
        frozen=True,
    )

    roadmap: RoadmapSettings = Field(default_factory=RoadmapSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)
    rules: RulesSettings = Field(default_factory=RulesSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    git: GitSettings = Field(default_factory=GitSettings)
    forge: ForgeSettings = Field(default_factory=ForgeSettings)
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    observe: ObserveSettings = Field(default_factory=ObserveSettings)
    web: WebSettings = Field(default_factory=WebSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first: COFFEE_MAKER_* overrides what the file (passed as init kwargs) says.
        return (_ListFriendlyEnv(settings_cls), init_settings)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
