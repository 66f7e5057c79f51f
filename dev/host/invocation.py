"""Running one function invocation, logged the way the Functions host logs it.

``async def`` functions run on the host's single event loop, like the Python worker runs
them; plain ``def`` functions run in a worker thread so they cannot block the loop.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid
from typing import Any

from dev.host.app import Function

logger = logging.getLogger("Host.Function")


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

    arguments = {function.arg_name: argument}
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
