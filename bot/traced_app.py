"""A ``FunctionApp`` whose every function runs inside its invocation's trace context.

The Python worker passes the invocation's ``azure.functions.Context`` to a function that has a
``context`` parameter; its ``trace_context`` is the W3C trace context of the host's request or
trigger telemetry. Rather than give each function in ``function_app.py`` that parameter, the
app adds it to each function's signature (as ``azure.functions`` itself does for its MCP tool
triggers) and runs the function under :func:`bot.telemetry.invocation_trace`, so the bot's
spans are children of the host's telemetry in Application Insights.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import azure.functions as func

from bot.telemetry import invocation_trace

CONTEXT_PARAMETER = "context"

AsyncFunction = Callable[..., Awaitable[Any]]


def traced(function: AsyncFunction) -> AsyncFunction:
    """``function``, taking the worker's ``context`` and running in its trace context."""
    signature = inspect.signature(function)
    if CONTEXT_PARAMETER in signature.parameters:
        return function  # it takes the context itself

    @functools.wraps(function)
    async def in_invocation_trace(*args: Any, **kwargs: Any) -> Any:
        context = kwargs.pop(CONTEXT_PARAMETER, None)
        with invocation_trace(context):
            return await function(*args, **kwargs)

    # The worker reads the signature to decide what to pass; the local host passes no context.
    context = inspect.Parameter(
        CONTEXT_PARAMETER,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        default=None,
        annotation=func.Context,
    )
    in_invocation_trace.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), context]
    )
    return in_invocation_trace


class TracedApp(func.FunctionApp):
    """A ``FunctionApp`` whose HTTP, queue and timer functions run in their trace context."""

    def route(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        """As ``FunctionApp.route``; the handler runs in its invocation's trace context."""
        return self._traced(super().route(*args, **kwargs))

    def queue_trigger(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        """As ``FunctionApp.queue_trigger``; the function runs in its trace context."""
        return self._traced(super().queue_trigger(*args, **kwargs))

    def timer_trigger(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        """As ``FunctionApp.timer_trigger``; the function runs in its trace context."""
        return self._traced(super().timer_trigger(*args, **kwargs))

    @staticmethod
    def _traced(register: Callable[..., Any]) -> Callable[..., Any]:
        return lambda function: register(traced(function))
