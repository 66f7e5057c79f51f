"""The producer's command line: ``python -m bot.proactive`` in a process of its own."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Mapping
from typing import Any

from dev.stack import REPOSITORY_ROOT


async def enqueue_with_command(environment: Mapping[str, str], *messages: dict[str, Any]) -> str:
    """Put ``messages`` on the environment's proactive queue; the command's output (checked)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.proactive",
        "-",
        "--connection-string",
        environment["AzureWebJobsStorage"],
        "--queue",
        environment["PROACTIVE_QUEUE_NAME"],
        cwd=REPOSITORY_ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(json.dumps(list(messages)).encode())
    assert process.returncode == 0, err.decode()
    assert out.decode().count("enqueued ") == len(messages)
    return out.decode()
