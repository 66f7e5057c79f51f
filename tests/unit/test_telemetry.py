"""Spans: one per turn, with safe attributes only; nothing when telemetry is off."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bot import telemetry
from bot.samples.echo import EchoBot
from bot.turn import BotAdapter, ClaimsIdentity, InMemorySender
from tests.unit.turn.builders import build_activity


@pytest.fixture(autouse=True)
def isolated_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh telemetry state per test, hashing with a test key (no settings needed)."""
    monkeypatch.setattr(telemetry, "_state", {"configured": False, "tracer": None})
    monkeypatch.setattr(telemetry, "storage_id", _keyed)


def _keyed(kind: str, *parts: str) -> str:
    from bot.storage.keys import storage_id

    return storage_id(kind, *parts, secret=b"test-key")


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry.enable_tracing(provider.get_tracer("test"))
    return exporter


async def run_turn(text: str) -> None:
    adapter = BotAdapter(InMemorySender(), middleware=[telemetry.TurnTelemetry()])
    activity = build_activity(text=text, conversation={"id": "29:secret-conversation"})
    await adapter.process_activity(activity, ClaimsIdentity.anonymous(), EchoBot().on_turn)


async def test_a_turn_has_one_span_with_safe_attributes(exporter: InMemorySpanExporter) -> None:
    await run_turn("my private words")

    (span,) = exporter.get_finished_spans()
    assert span.name == "bot.turn"
    attributes = dict(span.attributes or {})
    assert attributes["bot.activity.type"] == "message"
    assert attributes["bot.channel"] == "msteams"
    assert attributes["bot.turn.responded"] is True
    flattened = repr(attributes)
    assert "29:secret-conversation" not in flattened
    assert "my private words" not in flattened
    assert str(attributes["bot.conversation.key"]).startswith("v1-")


async def test_without_a_connection_string_nothing_is_traced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(telemetry.CONNECTION_STRING_SETTING, raising=False)

    await run_turn("hello")

    assert telemetry._tracer() is None
