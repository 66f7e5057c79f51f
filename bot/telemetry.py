"""Traces: a span per inbound turn and per proactive send, exported to Application Insights.

Telemetry is on when ``APPLICATIONINSIGHTS_CONNECTION_STRING`` is set (the Bicep sets it, with
Entra authentication through ``APPLICATIONINSIGHTS_AUTHENTICATION_STRING``). Then the Azure
Monitor OpenTelemetry distro is configured once per process. Without it nothing is imported:
OpenTelemetry costs ~0.6 s of imports, which a cold start should not pay for nothing.

Each invocation's spans are children of the host's request or trigger telemetry: the Python
worker hands the invocation's W3C trace context to the function as ``context.trace_context``,
and :func:`invocation_trace` makes it the current context while the function runs
(:class:`bot.traced_app.TracedApp` does that for every function). Logs are not exported by the
distro: the Functions host already sends the worker's logs to Application Insights, and a
second exporter would store each line twice.

Spans carry what helps operate the bot and nothing that identifies a person or leaks a secret:
the activity type, the channel, a keyed hash of the conversation (never its id), outcomes and
counts. Never tokens, secrets or message text.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from bot.storage.keys import storage_id

if TYPE_CHECKING:
    from bot.turn import TurnContext
    from bot.turn.middleware import NextStep

logger = logging.getLogger(__name__)

CONNECTION_STRING_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
TRACER_NAME = "proactive-bot"

SpanAttributes = Mapping[str, str | int | float | bool]

_state: dict[str, Any] = {"configured": False, "tracer": None}


def enable_tracing(tracer: Any) -> None:
    """Record spans with this OpenTelemetry tracer (tests pass one over an in-memory exporter)."""
    _state["tracer"] = tracer
    _state["configured"] = True


def _tracer() -> Any:
    if not _state["configured"]:
        _state["configured"] = True
        if os.environ.get(CONNECTION_STRING_SETTING):
            _state["tracer"] = _configure_azure_monitor()
    return _state["tracer"]


def _configure_azure_monitor() -> Any:
    try:
        from azure.monitor.opentelemetry import configure_azure_monitor
        from opentelemetry import trace

        options: dict[str, Any] = {}
        if "Authorization=AAD" in os.environ.get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", ""):
            from azure.identity import ManagedIdentityCredential

            options["credential"] = ManagedIdentityCredential(
                client_id=os.environ.get("AZURE_CLIENT_ID") or None
            )
        # disable_logging: the host forwards the worker's logs already (see the docstring).
        configure_azure_monitor(disable_logging=True, **options)
        return trace.get_tracer(TRACER_NAME)
    except Exception as error:  # telemetry must never take the bot down
        logger.warning("telemetry disabled: %s", type(error).__name__)
        return None


@contextmanager
def invocation_trace(context: Any) -> Iterator[None]:
    """Run a block as part of a Functions invocation's trace, when telemetry is on.

    Args:
        context: The invocation's ``azure.functions.Context`` (its ``trace_context`` holds the
            W3C ``traceparent`` and ``tracestate``), or ``None`` (the local host passes none).
    """
    trace_context = getattr(context, "trace_context", None)
    parent = getattr(trace_context, "trace_parent", None) or ""
    if not parent or _tracer() is None:
        yield
        return
    from opentelemetry import context as otel_context
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier = {"traceparent": parent, "tracestate": getattr(trace_context, "trace_state", "") or ""}
    token = otel_context.attach(TraceContextTextMapPropagator().extract(carrier))
    try:
        yield
    finally:
        otel_context.detach(token)


def conversation_key(channel_id: str | None, conversation_id: str | None) -> str:
    """A keyed hash of the conversation, so spans of one conversation can be grouped."""
    return storage_id("telemetry-conversation", channel_id or "", conversation_id or "")


@contextmanager
def span(name: str, attributes: SpanAttributes) -> Iterator[Any]:
    """A span around a block, or nothing at all when telemetry is off.

    Args:
        name: The operation, for example ``bot.turn`` or ``proactive.send``.
        attributes: Safe attributes only (see the module docstring).

    Yields:
        The OpenTelemetry span (to add attributes or record the outcome), or ``None``.
    """
    tracer = _tracer()
    if tracer is None:
        yield None
        return
    with tracer.start_as_current_span(name, attributes=dict(attributes)) as current:
        yield current


class TurnTelemetry:
    """Middleware: one ``bot.turn`` span around each turn, inbound or proactive."""

    async def on_turn(self, context: TurnContext, next: NextStep, /) -> None:
        """Run the turn inside its span; the span records whether the turn raised."""
        activity = context.activity
        conversation_id = activity.conversation.id if activity.conversation else None
        attributes: dict[str, str | int | float | bool] = {
            "bot.activity.type": str(activity.type),
            "bot.channel": activity.channel_id or "",
            "bot.conversation.key": conversation_key(activity.channel_id, conversation_id),
        }
        if activity.name:
            attributes["bot.activity.name"] = activity.name
        with span("bot.turn", attributes) as current:
            await next()
            if current is not None:
                current.set_attribute("bot.turn.responded", context.responded)
