"""Typed agent events."""

from __future__ import annotations

from coffee_maker.agent.events import TextEvent


class TestAgentEvent:
    def test_to_dict_has_type_first_and_no_raw(self) -> None:
        """to_dict is JSON-ready with "type" and without the raw object."""
        event = TextEvent(text="x", raw={"big": "object"})
        assert event.to_dict() == {"type": "assistant_text", "text": "x", "message_id": None}
