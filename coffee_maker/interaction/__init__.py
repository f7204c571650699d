"""Answering the agent: rules, the MessageHandler, and the interaction log."""

from coffee_maker.interaction.handler import (
           MessageHandler,
           build_message_handler,
           build_rule_engine,
)
from coffee_maker.interaction.log import InteractionLog, redact
from coffee_maker.interaction.rules import RuleEngine, split_command

__all__ = ["InteractionLog", "MessageHandler", "RuleEngine", "build_message_handler", "build_rule_engine", "redact",
           "split_command"]
