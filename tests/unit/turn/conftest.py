"""Fixtures of the turn tests: an incoming-activity factory, an in-memory sender, an adapter."""

from __future__ import annotations

import pytest

from bot.turn import BotAdapter, InMemorySender
from tests.unit.turn.builders import ActivityFactory, build_activity


@pytest.fixture
def make_activity() -> ActivityFactory:
    return build_activity


@pytest.fixture
def sender() -> InMemorySender:
    return InMemorySender()


@pytest.fixture
def adapter(sender: InMemorySender) -> BotAdapter:
    return BotAdapter(sender)
