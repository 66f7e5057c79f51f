"""Running one function invocation, logged the way the Functions host logs it.

``async def`` functions run on the host's single event loop, like the Python worker runs
them; plain ``def`` functions run in a worker thread so they cannot block the loop.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from dev.host.app import Function

logger = logging.getLogger("Host.Function")


@dataclass(frozen=True)
class TraceContext:
    """The W3C trace context of an invocation, as the worker's ``context.trace_context``."""

    trace_parent: str
    trace_state: str = ""
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InvocationContext:
    """What the Python worker passes as ``context`` (the parts of ``azure.functions.Context``).

    Each invocation starts a trace of its own, as the host's request telemetry does.
    """

    invocation_id: str
    function_name: str
    function_directory: str
    trace_context: TraceContext
    retry_context: None = None

    @classmethod
    def new(cls, function_name: str, invocation_id: uuid.UUID) -> InvocationContext:
        """The context of a new invocation, in a new trace."""
        parent = f"00-{uuid.uuid4().hex}-{secrets.token_hex(8)}-01"
        return cls(str(invocation_id), function_name, os.getcwd(), TraceContext(parent))


async def invoke(function: Function, argument: Any, reason: str) -> Any:
    """Call ``function`` with its trigger argument and log ``Executing`` / ``Executed``.

    Args:
        function: The function to run.
        argument: The value of its trigger parameter.
        reason: Why it runs, as shown in the log (never message contents).

    Returns:
        What the function returned.

    Raises:
        Exception: Whatever the function raised, after its traceback went to the log.
    """
    invocation_id = uuid.uuid4()
    label = f"Functions.{function.name}"
    logger.info("Executing '%s' (Reason='%s', Id=%s)", label, reason, invocation_id)
    started = time.perf_counter()

    def executed(outcome: str) -> None:
        duration = round((time.perf_counter() - started) * 1000)
        log = logger.info if outcome == "Succeeded" else logger.error
        log("Executed '%s' (%s, Id=%s, Duration=%dms)", label, outcome, invocation_id, duration)

    arguments: dict[str, Any] = {function.arg_name: argument}
    if function.takes_context:
        arguments["context"] = InvocationContext.new(function.name, invocation_id)
    try:
        if inspect.iscoroutinefunction(function.function):
            result = await function.function(**arguments)
        else:
            result = await asyncio.to_thread(function.function, **arguments)
    except asyncio.CancelledError:
        executed("Failed")
        raise
    except Exception:
        logger.exception("Function '%s' raised (Id=%s)", label, invocation_id)
        executed("Failed")
        raise
    executed("Succeeded")
    return result
