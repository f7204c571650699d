"""Answering the agent: the MessageHandler and the interaction log (the rules live in ``coffee_maker.rules``)."""

from coffee_maker.interaction.handler import (
           MessageHandler,
           build_message_handler,
           build_rule_engine,
)
from coffee_maker.interaction.log import InteractionLog, redact

__all__ = ["InteractionLog", "MessageHandler", "build_message_handler", "build_rule_engine", "redact"]
