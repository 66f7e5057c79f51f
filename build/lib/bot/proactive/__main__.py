"""``python -m bot.proactive``: validate proactive messages and put them on the queue.

    python -m bot.proactive message.json
    echo '{"version": 1, ...}' | python -m bot.proactive -
    python -m bot.proactive messages.json --queue proactive-sends \\
        --connection-string "UseDevelopmentStorage=true"
    python -m bot.proactive --check message.json        # validate only
    python -m bot.proactive --print-schema              # the message's JSON Schema

The file holds one message (a JSON object) or several (a JSON array). Every message is
validated before any is sent; an invalid one is reported with its fields and the exit status is
2 (1 when the queue cannot be written). The connection comes from ``--connection-string``, else
``AzureWebJobsStorage`` from the environment or ``local.settings.json`` (``Values``); the queue
from ``--queue``, else ``PROACTIVE_QUEUE_NAME``, else ``proactive-sends``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from bot.proactive.message import (
    InvalidMessageError,
    ProactiveMessage,
    decode_json,
    message_json_schema,
    parse_message,
)

EXIT_OK = 0
EXIT_QUEUE_ERROR = 1
EXIT_INVALID = 2
DEFAULT_QUEUE = "proactive-sends"


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.proactive",
        description="Validate proactive messages and put them on the proactive queue.",
    )
    parser.add_argument(
        "file", nargs="?", help="a JSON file with a message or an array; - for stdin"
    )
    parser.add_argument("--connection-string", help="storage connection (AzureWebJobsStorage)")
    parser.add_argument("--queue", help="queue name (PROACTIVE_QUEUE_NAME)")
    parser.add_argument("--check", action="store_true", help="validate only; send nothing")
    parser.add_argument("--print-schema", action="store_true", help="print the JSON Schema")
    arguments = parser.parse_args(argv)
    if not arguments.print_schema and not arguments.file:
        parser.error("a file (or - for stdin) is required")
    return arguments


def _setting(name: str) -> str:
    from bot.settings import read_local_values

    return os.environ.get(name) or read_local_values().get(name, "")


def _read(source: str) -> Any:
    if source == "-":
        return decode_json(sys.stdin.buffer.read())
    with open(source, "rb") as file:
        return decode_json(file.read())


def _validate(document: Any, errors: TextIO) -> list[ProactiveMessage] | None:
    items = document if isinstance(document, list) else [document]
    messages: list[ProactiveMessage] = []
    valid = True
    for index, item in enumerate(items):
        try:
            messages.append(parse_message(item))
        except InvalidMessageError as error:
            valid = False
            where = f"message {index}" if isinstance(document, list) else "message"
            print(f"{where}: invalid: {error}", file=errors)
    return messages if valid else None


async def _send(messages: list[ProactiveMessage], connection: str, queue_name: str) -> None:
    from bot.proactive.enqueue import enqueue, queue_from_connection_string

    async with queue_from_connection_string(connection, queue_name)() as queue:
        for message in messages:
            sent = await enqueue(message, queue=queue)
            visible = sent.visible_at.isoformat(timespec="seconds")
            print(f"enqueued {sent.id} on {queue_name} (visible from {visible})")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    arguments = parse_arguments(argv)
    if arguments.print_schema:
        print(json.dumps(message_json_schema(), indent=2, ensure_ascii=False))
        return EXIT_OK
    try:
        document = _read(arguments.file)
    except InvalidMessageError as error:
        print(f"invalid: {error}", file=sys.stderr)
        return EXIT_INVALID
    except OSError as error:
        print(f"cannot read {arguments.file}: {error.strerror}", file=sys.stderr)
        return EXIT_INVALID
    messages = _validate(document, sys.stderr)
    if messages is None:
        return EXIT_INVALID
    if arguments.check:
        print(f"{len(messages)} valid message(s)")
        return EXIT_OK
    connection = arguments.connection_string or _setting("AzureWebJobsStorage")
    if not connection:
        print(
            "no storage connection: pass --connection-string or set AzureWebJobsStorage",
            file=sys.stderr,
        )
        return EXIT_QUEUE_ERROR
    queue_name = arguments.queue or _setting("PROACTIVE_QUEUE_NAME") or DEFAULT_QUEUE
    from azure.core.exceptions import AzureError

    from bot.proactive.enqueue import MessageTooLargeError

    try:
        asyncio.run(_send(messages, connection, queue_name))
    except MessageTooLargeError as error:
        print(f"invalid: {error}", file=sys.stderr)
        return EXIT_INVALID
    except (AzureError, ValueError) as error:
        detail = (str(error).splitlines() or [""])[0][:200]
        print(f"the queue could not be written: {type(error).__name__}: {detail}", file=sys.stderr)
        return EXIT_QUEUE_ERROR
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
