"""Redrive a poison queue: put each poisoned message back on the queue it came from.

Two kinds of message wait in ``<queue>-poison``:

- the bot's wrapper (:mod:`bot.proactive.poison`), ``{"reason": {...}, "message": ...}`` for
  a message that could never succeed as it was: the original is ``message`` (JSON),
  ``messageText`` or ``messageBase64``, and that original, not the wrapper, goes back;
- a message the Functions host moved after ``maxDequeueCount`` failed tries (storage down, a
  misconfigured app): the original itself, which goes back as it is.

Each message is put on ``<queue>`` first and deleted from the poison queue only after the put
succeeded, so a failure never loses one; the worst case (the put succeeded, the delete did not)
leaves a copy in the poison queue, and putting a proactive message twice sends it once: its
``id`` is the delivery ledger's key (docs/delivery.md). A fan-out page put twice is harmless
too: a page that is no longer due is dropped (:mod:`bot.broadcast.fanout`).

While a run reads the poison queue it holds each message it received invisible for
:data:`LEASE_SECONDS`, so it sees each one once; the messages it leaves (not matching, a dry
run, past ``--limit``, not redrivable) are made visible again at its end. What it prints names
each message by its queue id, its delivery id and its reason code, never its text.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from bot.proactive.poison import POISON_SUFFIX
from bot.schema.json_document import JsonDocumentError, parse_json

if TYPE_CHECKING:
    from azure.storage.queue import QueueMessage
    from azure.storage.queue.aio import QueueClient

LEASE_SECONDS = 300
"""How long a run holds a received poison message invisible (longer than any run's pass)."""
PAGE_SIZE = 32
"""Messages per receive: the queue service's maximum."""
_ORIGINAL_KEYS = ("message", "messageText", "messageBase64")


class NotRedrivableError(ValueError):
    """A poison message that cannot go back as it is (it was truncated, or is not text)."""


@dataclass(frozen=True)
class Poisoned:
    """One poison message, read.

    Attributes:
        text: What goes back on the queue: the original message's text.
        document: What ``--where`` matches: ``{"reason": ..., "message": ...}`` (a message the
            host moved has no ``reason``; ``message`` is its JSON, else its text).
        wrapped: Whether the bot wrapped it (else the host moved it as it was).
    """

    text: str
    document: Mapping[str, Any]
    wrapped: bool

    @property
    def delivery_id(self) -> str:
        """The message's ``id`` (or a fan-out page's ``operationId``), when it has one."""
        reason = self.document.get("reason")
        if isinstance(reason, Mapping) and isinstance(reason.get("deliveryId"), str):
            return str(reason["deliveryId"])
        message = self.document.get("message")
        if isinstance(message, Mapping):
            for key in ("id", "operationId"):
                if isinstance(message.get(key), str):
                    return str(message[key])
        return ""

    @property
    def reason_code(self) -> str:
        """The bot's reason code; ``MaxDequeueCount`` for a message the host moved."""
        reason = self.document.get("reason")
        if isinstance(reason, Mapping) and isinstance(reason.get("code"), str):
            return str(reason["code"])
        return "MaxDequeueCount"


def read_poisoned(body: bytes) -> Poisoned:
    """Unwrap a poison message's body (base64 already decoded).

    Raises:
        NotRedrivableError: It was truncated to fit the poison queue, or its original is not
            UTF-8 text: putting it back could never succeed.
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise NotRedrivableError("not UTF-8 text") from None
    try:
        document = parse_json(text)
    except JsonDocumentError:
        return Poisoned(text, {"message": text}, wrapped=False)
    if not _is_wrapper(document):
        return Poisoned(text, {"message": document}, wrapped=False)
    reason = document["reason"]
    if reason.get("truncated") is True:
        raise NotRedrivableError("truncated to fit the poison queue")
    if "message" in document:
        original = json.dumps(document["message"], ensure_ascii=False, separators=(",", ":"))
        return Poisoned(original, document, wrapped=True)
    if "messageText" in document:
        return Poisoned(str(document["messageText"]), document, wrapped=True)
    try:
        raw = base64.b64decode(str(document["messageBase64"]), validate=True)
        return Poisoned(raw.decode("utf-8"), document, wrapped=True)
    except (binascii.Error, UnicodeDecodeError):
        raise NotRedrivableError("the original is not UTF-8 text") from None


def _is_wrapper(document: Any) -> bool:
    if not isinstance(document, dict) or not isinstance(document.get("reason"), dict):
        return False
    originals = [key for key in _ORIGINAL_KEYS if key in document]
    return len(originals) == 1 and set(document) == {"reason", originals[0]}


def parse_condition(text: str) -> tuple[tuple[str, ...], str]:
    """``reason.code=Expired`` as ``(("reason", "code"), "Expired")``.

    Raises:
        ValueError: No ``=``, or an empty path.
    """
    path, separator, value = text.partition("=")
    parts = tuple(part for part in path.strip().split(".") if part)
    if not separator or not parts:
        raise ValueError(f"{text!r}: expected PATH=VALUE, e.g. reason.code=ConversationNotFound")
    return parts, value


def matches(document: Mapping[str, Any], conditions: Sequence[tuple[tuple[str, ...], str]]) -> bool:
    """Whether every condition's path holds its value (compared as text)."""
    for path, expected in conditions:
        value: Any = document
        for part in path:
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is None or (str(value).lower() if isinstance(value, bool) else str(value)) != (
            expected
        ):
            return False
    return True


def target_queue_name(poison_queue_name: str) -> str:
    """The queue a poison queue's messages came from: ``<queue>-poison`` -> ``<queue>``.

    Raises:
        ValueError: The name does not end in ``-poison``.
    """
    if not poison_queue_name.endswith(POISON_SUFFIX) or poison_queue_name == POISON_SUFFIX:
        raise ValueError(f"{poison_queue_name!r} is not a poison queue (<queue>{POISON_SUFFIX})")
    return poison_queue_name.removesuffix(POISON_SUFFIX)


@dataclass
class RedriveReport:
    """What a run did.

    Attributes:
        moved: Messages put back (or, in a dry run, that would be).
        left: Messages that did not match the conditions or were past the limit.
        not_redrivable: Messages that cannot go back as they are.
        failed: The error that stopped the run, if one did (nothing was deleted for it).
    """

    moved: int = 0
    left: int = 0
    not_redrivable: int = 0
    failed: str = ""
    _held: list[QueueMessage] = field(default_factory=list, repr=False)


async def redrive(
    poison: QueueClient,
    target: QueueClient,
    *,
    conditions: Sequence[tuple[tuple[str, ...], str]] = (),
    limit: int | None = None,
    dry_run: bool = False,
    out: TextIO | None = None,
) -> RedriveReport:
    """Put the poison queue's matching messages back on ``target``, then delete them.

    Args:
        poison: The poison queue (base64-decoding to bytes, as :mod:`queue_access` makes it).
        target: The queue they came from (base64-encoding).
        conditions: ``(path, value)`` pairs that must all hold (:func:`parse_condition`).
        limit: Move at most this many.
        dry_run: Print what would move; move and delete nothing.
        out: Where each move is printed (one line each); nowhere by default.

    Returns:
        The counts, and the error that stopped the run, if any.
    """
    from azure.core.exceptions import AzureError

    from bot.storage.queues import send_creating_queue

    report = RedriveReport()
    verb = "would move" if dry_run else "moved"
    try:
        while limit is None or report.moved < limit:
            page = [
                message
                async for message in poison.receive_messages(
                    messages_per_page=PAGE_SIZE,
                    max_messages=PAGE_SIZE,
                    visibility_timeout=LEASE_SECONDS,
                )
            ]
            if not page:
                break
            for message in page:
                try:
                    poisoned = read_poisoned(message.content)
                except NotRedrivableError as error:
                    report.not_redrivable += 1
                    report._held.append(message)
                    _print(out, f"left {message.id}: cannot go back ({error})")
                    continue
                if not matches(poisoned.document, conditions) or (
                    limit is not None and report.moved >= limit
                ):
                    report.left += 1
                    report._held.append(message)
                    continue
                if dry_run:
                    report._held.append(message)
                else:
                    try:
                        await send_creating_queue(target, poisoned.text)
                    except AzureError:
                        report._held.append(message)
                        raise
                    # Only now: the message is safe on its queue.
                    await poison.delete_message(message)
                report.moved += 1
                name = poisoned.delivery_id or "(no id)"
                _print(
                    out,
                    f"{verb} {message.id} ({name}, {poisoned.reason_code}) to {target.queue_name}",
                )
    except AzureError as error:
        report.failed = f"{type(error).__name__}: {(str(error).splitlines() or [''])[0][:200]}"
    finally:
        await _release(poison, report._held)
    return report


async def _release(poison: QueueClient, held: list[QueueMessage]) -> None:
    """Make the messages a run left visible again (best effort: they return anyway)."""
    from azure.core.exceptions import AzureError

    for message in held:
        try:
            # By id, with no content: given the message itself, the client would re-send it.
            await poison.update_message(
                message.id, pop_receipt=message.pop_receipt, visibility_timeout=0
            )
        except AzureError:
            continue
    held.clear()


def _print(out: TextIO | None, line: str) -> None:
    if out is not None:
        print(line, file=out)
