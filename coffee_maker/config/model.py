"""The root configuration model: one section per subsystem."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from coffee_maker.config.agent import AgentSettings
from coffee_maker.config.daemon import DaemonSettings
from coffee_maker.config.git import ForgeSettings, GitSettings
from coffee_maker.config.notify import NotifySettings
from coffee_maker.config.observe import ObserveSettings
from coffee_maker.config.roadmap import RoadmapSettings
from coffee_maker.config.rules import RulesSettings

ENV_PREFIX = "COFFEE_MAKER_"
ENV_NESTED_DELIMITER = "__"


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
        return (env_settings, init_settings)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
