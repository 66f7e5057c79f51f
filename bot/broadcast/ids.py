"""Operation ids and the recipients' delivery ids, derived so a re-run never duplicates.

A recipient's queue message id is ``bc:{operationId}:{token}``, where the token is a keyed
hash (``KEY_HASH_SECRET``) of the operation id and the recipient. Fanning out the same page
again, after a crash or a duplicate queue message, makes the very same ids, which the delivery
ledger sends at most once; a new operation makes new ids. The id holds no raw user or
conversation id, and the queue sender recognises a broadcast's message by its prefix, to
record the recipient's outcome (:mod:`bot.broadcast.outcomes`).

Only standard-library and key imports here: the queue sender imports this for every message.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from bot.storage.keys import storage_id

OPERATION_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
"""An operation id: 1 to 64 of ``A-Z a-z 0-9 _ -`` (no ``:``, which separates the parts of a
delivery id)."""
DELIVERY_ID_PREFIX = "bc"
TOKEN_LENGTH = 40
"""Hex digits of a recipient token (160 bits)."""
RECIPIENT_KIND = "broadcast-recipient"

_OPERATION_ID = re.compile(OPERATION_ID_PATTERN)
_DELIVERY_ID = re.compile(
    rf"^{DELIVERY_ID_PREFIX}:([A-Za-z0-9_-]{{1,64}}):([0-9a-f]{{{TOKEN_LENGTH}}})$"
)


@dataclass(frozen=True)
class Recipient:
    """Whom one message of a broadcast goes to: a stored conversation, or a user's personal
    conversation (resolved when it is sent).

    Attributes:
        channel_id: The channel.
        conversation_id: The conversation (a conversation recipient).
        tenant_id: Its tenant, where the channel has tenants.
        user_id: The user (a user recipient).
        aad_object_id: The user's Entra object id (a Teams user recipient, with ``tenant_id``).
    """

    channel_id: str
    conversation_id: str | None = None
    tenant_id: str | None = None
    user_id: str | None = None
    aad_object_id: str | None = None

    def key_parts(self) -> tuple[str, ...]:
        """The canonical parts that name the recipient."""
        if self.user_id is not None:
            return ("user", self.channel_id, self.user_id)
        if self.aad_object_id is not None:
            return ("aad", self.channel_id, self.tenant_id or "", self.aad_object_id)
        return ("conversation", self.channel_id, self.tenant_id or "", self.conversation_id or "")


def new_operation_id() -> str:
    """A fresh operation id (32 hex digits)."""
    return uuid.uuid4().hex


def is_operation_id(value: str) -> bool:
    """Whether ``value`` is a valid operation id."""
    return bool(_OPERATION_ID.fullmatch(value))


def recipient_token(operation_id: str, recipient: Recipient) -> str:
    """The recipient's token within the operation (a keyed hash; no raw id in it)."""
    digest = storage_id(RECIPIENT_KIND, operation_id, *recipient.key_parts())
    return digest.partition("-")[2][:TOKEN_LENGTH]


def delivery_id(operation_id: str, token: str) -> str:
    """The queue message (and delivery) id of a recipient: ``bc:{operationId}:{token}``."""
    return f"{DELIVERY_ID_PREFIX}:{operation_id}:{token}"


def parse_delivery_id(value: str) -> tuple[str, str] | None:
    """``(operation id, token)`` of a broadcast recipient's delivery id; ``None`` for others."""
    if not value.startswith(DELIVERY_ID_PREFIX + ":"):
        return None
    match = _DELIVERY_ID.fullmatch(value)
    return (match.group(1), match.group(2)) if match else None


EDIT_ID_PREFIX = "be"
_EDIT_ID = re.compile(
    rf"^{EDIT_ID_PREFIX}:([A-Za-z0-9_-]{{1,64}}):([0-9]{{1,4}}):([0-9a-f]{{{TOKEN_LENGTH}}})$"
)


def edit_delivery_id(operation_id: str, number: int, token: str) -> str:
    """The queue message id of edit ``number`` of a broadcast, for one recipient:
    ``be:{operationId}:{number}:{token}`` (at most 113 characters)."""
    return f"{EDIT_ID_PREFIX}:{operation_id}:{number}:{token}"


def parse_edit_delivery_id(value: str) -> tuple[str, int, str] | None:
    """``(operation id, edit number, token)`` of a broadcast edit's id; ``None`` for others."""
    if not value.startswith(EDIT_ID_PREFIX + ":"):
        return None
    match = _EDIT_ID.fullmatch(value)
    return (match.group(1), int(match.group(2)), match.group(3)) if match else None
