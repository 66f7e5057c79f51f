"""``python -m bot.proactive``: put proactive messages on the queue, or redrive its poison queue.

    python -m bot.proactive message.json
    echo '{"version": 1, ...}' | python -m bot.proactive -
    python -m bot.proactive messages.json --queue proactive-sends \\
        --connection-string "UseDevelopmentStorage=true"
    python -m bot.proactive messages.json \\
        --account-url https://<account>.queue.core.windows.net   # Entra ID
    python -m bot.proactive --check message.json        # validate only
    python -m bot.proactive --print-schema              # the message's JSON Schema

    python -m bot.proactive redrive [--queue proactive-sends-poison] \\
        [--where reason.code=ConversationNotFound] [--limit N] [--dry-run]

The file holds one message (a JSON object) or several (a JSON array). Every message is
validated before any is sent; an invalid one is reported with its fields and the exit status is
2 (1 when the queue cannot be written). ``redrive`` puts each message of a poison queue back on
its queue (the bot's ``{"reason", "message"}`` wrapper unwrapped), deleting it from the poison
queue only after the put succeeded (:mod:`bot.proactive.redrive`); the fan-out's is
``<queue>-fanout-poison``.

The storage account comes from ``--connection-string`` or ``--account-url`` (the queue service
URL, signed in with ``DefaultAzureCredential``: a deployed account takes no keys), else from
``AzureWebJobsStorage`` or ``AzureWebJobsStorage__queueServiceUri`` in the environment or
``local.settings.json`` (``Values``); the queue from ``--queue``, else
``PROACTIVE_QUEUE_NAME``, else ``proactive-sends``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from bot.proactive.message import (
    InvalidMessageError,
    ProactiveMessage,
    decode_json,
    message_json_schema,
    parse_message,
)
from bot.proactive.redrive import parse_condition

if TYPE_CHECKING:
    from bot.proactive.queue_access import QueueAccess
    from bot.proactive.redrive import RedriveReport

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
    _add_storage_arguments(parser)
    parser.add_argument("--queue", help="queue name (PROACTIVE_QUEUE_NAME)")
    parser.add_argument("--check", action="store_true", help="validate only; send nothing")
    parser.add_argument("--print-schema", action="store_true", help="print the JSON Schema")
    arguments = parser.parse_args(argv)
    if not arguments.print_schema and not arguments.file:
        parser.error("a file (or - for stdin) is required")
    return arguments


def parse_redrive_arguments(argv: Sequence[str]) -> argparse.Namespace:
    """The ``redrive`` command line (``argv`` without the word ``redrive``)."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.proactive redrive",
        description="Put a poison queue's messages back on their queue, unwrapped.",
    )
    _add_storage_arguments(parser)
    parser.add_argument("--queue", help="the poison queue (default <PROACTIVE_QUEUE_NAME>-poison)")
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="move only messages where PATH (into {reason, message}) is VALUE; repeatable",
    )
    parser.add_argument("--limit", type=int, metavar="N", help="move at most N messages")
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would move; move nothing"
    )
    arguments = parser.parse_args(argv)
    if arguments.limit is not None and arguments.limit < 1:
        parser.error("--limit must be at least 1")
    try:
        arguments.conditions = [parse_condition(text) for text in arguments.where]
    except ValueError as error:
        parser.error(str(error))
    return arguments


def _add_storage_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--connection-string", help="storage connection (AzureWebJobsStorage)")
    where.add_argument(
        "--account-url",
        help="queue service URL, https://<account>.queue.core.windows.net, signed in with "
        "Entra ID (DefaultAzureCredential; AzureWebJobsStorage__queueServiceUri)",
    )


def storage_access(arguments: argparse.Namespace) -> QueueAccess | None:
    """The storage account from the arguments, else the app's settings; None when unknown."""
    from bot.proactive.queue_access import QueueAccess

    if arguments.connection_string:
        return QueueAccess(connection_string=arguments.connection_string)
    if arguments.account_url:
        return QueueAccess(account_url=arguments.account_url)
    if connection := _setting("AzureWebJobsStorage"):
        return QueueAccess(connection_string=connection)
    if account_url := _setting("AzureWebJobsStorage__queueServiceUri"):
        return QueueAccess(account_url=account_url)
    return None


NO_STORAGE = (
    "no storage account: pass --account-url (Entra ID) or --connection-string, or set "
    "AzureWebJobsStorage__queueServiceUri or AzureWebJobsStorage"
)


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


async def _send(messages: list[ProactiveMessage], access: QueueAccess, queue_name: str) -> None:
    from bot.proactive.enqueue import enqueue

    async with access.queues() as queues:
        for message in messages:
            sent = await enqueue(message, queue=queues.queue(queue_name))
            visible = sent.visible_at.isoformat(timespec="seconds")
            print(f"enqueued {sent.id} on {queue_name} (visible from {visible})")


async def _redrive(arguments: argparse.Namespace, access: QueueAccess) -> RedriveReport:
    from bot.proactive.redrive import redrive, target_queue_name

    poison_name = arguments.queue
    async with access.queues() as queues:
        return await redrive(
            queues.queue(poison_name),
            queues.queue(target_queue_name(poison_name)),
            conditions=arguments.conditions,
            limit=arguments.limit,
            dry_run=arguments.dry_run,
            out=sys.stdout,
        )


def redrive_main(argv: Sequence[str]) -> int:
    """Run ``redrive``; returns the exit status (1: the run stopped on a storage error)."""
    from azure.core.exceptions import AzureError

    from bot.proactive.poison import POISON_SUFFIX
    from bot.proactive.redrive import target_queue_name

    arguments = parse_redrive_arguments(argv)
    arguments.queue = arguments.queue or (
        (_setting("PROACTIVE_QUEUE_NAME") or DEFAULT_QUEUE) + POISON_SUFFIX
    )
    try:
        target_queue_name(arguments.queue)
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return EXIT_INVALID
    access = storage_access(arguments)
    if access is None:
        print(NO_STORAGE, file=sys.stderr)
        return EXIT_QUEUE_ERROR
    try:
        report = asyncio.run(_redrive(arguments, access))
    except (AzureError, ValueError) as error:
        print(f"the poison queue could not be read: {_describe(error)}", file=sys.stderr)
        return EXIT_QUEUE_ERROR
    verb = "would move" if arguments.dry_run else "moved"
    print(
        f"{verb} {report.moved}, left {report.left}, cannot go back {report.not_redrivable} "
        f"({arguments.queue})"
    )
    if report.failed:
        print(f"stopped: {report.failed}; nothing was deleted for it", file=sys.stderr)
        return EXIT_QUEUE_ERROR
    return EXIT_OK


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {(str(error).splitlines() or [''])[0][:200]}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    arguments_list = list(sys.argv[1:] if argv is None else argv)
    if arguments_list[:1] == ["redrive"]:
        return redrive_main(arguments_list[1:])
    arguments = parse_arguments(arguments_list)
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
    access = storage_access(arguments)
    if access is None:
        print(NO_STORAGE, file=sys.stderr)
        return EXIT_QUEUE_ERROR
    queue_name = arguments.queue or _setting("PROACTIVE_QUEUE_NAME") or DEFAULT_QUEUE
    from azure.core.exceptions import AzureError

    from bot.proactive.enqueue import MessageTooLargeError

    try:
        asyncio.run(_send(messages, access, queue_name))
    except MessageTooLargeError as error:
        print(f"invalid: {error}", file=sys.stderr)
        return EXIT_INVALID
    except (AzureError, ValueError) as error:
        print(f"the queue could not be written: {_describe(error)}", file=sys.stderr)
        return EXIT_QUEUE_ERROR
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
