"""Fixtures for the observability tests: a local OTLP recorder with a fresh key per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from coffee_maker.testing.otlp_recorder import OtlpRecorder


@pytest.fixture
def recorder() -> Iterator[OtlpRecorder]:
    """An OTLP/HTTP recorder on 127.0.0.1 expecting this test's own key pair."""
    key = uuid.uuid4().hex[:8]
    with OtlpRecorder(f"pk-lf-{key}", f"sk-lf-{key}") as rec:
        yield rec
