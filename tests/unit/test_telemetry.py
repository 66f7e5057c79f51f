"""Spans: one per turn, with safe attributes only; nothing when telemetry is off."""

from __future__ import annotations

from typing import Any

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


TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
HOST_SPAN_ID = "b7ad6b7169203331"


class _TraceContext:
    trace_parent = f"00-{TRACE_ID}-{HOST_SPAN_ID}-01"
    trace_state = "host=functions"
    attributes: dict[str, str] = {}  # noqa: RUF012


class _InvocationContext:
    """What the worker passes as ``context`` (only the part read here)."""

    trace_context = _TraceContext()


def _traced_app_functions() -> dict[str, Any]:
    import azure.functions as func

    from bot.traced_app import TracedApp

    app = TracedApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(route="work", methods=["POST"])
    async def work(req: func.HttpRequest) -> func.HttpResponse:
        with telemetry.span("bot.turn", {"bot.channel": "msteams"}):
            return func.HttpResponse("done")

    @app.queue_trigger(arg_name="msg", queue_name="q", connection="AzureWebJobsStorage")
    async def sender(msg: func.QueueMessage) -> None:
        with telemetry.span("proactive.send", {}):
            return None

    return {str(f.get_function_name()): f.get_user_function() for f in app.get_functions()}


async def test_spans_of_an_invocation_are_children_of_the_hosts_trace(
    exporter: InMemorySpanExporter,
) -> None:
    import azure.functions as func

    functions = _traced_app_functions()
    request = func.HttpRequest("POST", "/api/work", body=b"")

    answer = await functions["work"](req=request, context=_InvocationContext())
    await functions["sender"](msg=None, context=_InvocationContext())

    assert answer.get_body() == b"done"
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["bot.turn", "proactive.send"]
    for finished in spans:
        assert finished.parent is not None
        assert format(finished.parent.span_id, "016x") == HOST_SPAN_ID
        assert format(finished.context.trace_id, "032x") == TRACE_ID
        assert str(finished.context.trace_state) == str(finished.parent.trace_state)


async def test_the_worker_sees_a_context_parameter_and_the_local_host_may_omit_it(
    exporter: InMemorySpanExporter,
) -> None:
    import inspect

    import azure.functions as func

    functions = _traced_app_functions()

    parameters = inspect.signature(functions["sender"]).parameters
    assert list(parameters) == ["msg", "context"]
    assert parameters["context"].annotation is func.Context
    await functions["sender"](msg=None)  # as dev.host calls it: no context, a root span
    (root,) = exporter.get_finished_spans()
    assert root.parent is None


def test_the_distro_exports_no_logs_the_host_already_sends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import azure.monitor.opentelemetry

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(
        azure.monitor.opentelemetry, "configure_azure_monitor", lambda **kw: calls.append(kw)
    )
    monkeypatch.setenv(telemetry.CONNECTION_STRING_SETTING, "InstrumentationKey=00000000")
    monkeypatch.delenv("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", raising=False)

    assert telemetry._tracer() is not None

    assert calls == [{"disable_logging": True}]
