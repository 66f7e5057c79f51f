"""The Activity: every message, event and notification a bot sends or receives.

The sender is ``from`` on the wire and ``from_`` in Python (the trailing underscore is
PEP 8's spelling for a name that clashes with a keyword); ``Activity(from_=...)`` and
``{"from": ...}`` both fill it.

Timestamps (``timestamp``, ``localTimestamp``, ``expiration``) are kept as the strings the
channel sent: channels differ in precision (Teams sends seven fractional digits) and offset
style, and a round trip must not rewrite them.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from bot.schema.accounts import ChannelAccount, ConversationAccount
from bot.schema.attachments import Attachment, Entity
from bot.schema.cards import SuggestedActions
from bot.schema.reference import ConversationReference
from bot.schema.wire_model import WireModel


class MessageReaction(WireModel):
    """A reaction added to or removed from a message."""

    type: str | None = None


class TextHighlight(WireModel):
    """A span of the text that an activity refers to."""

    text: str | None = None
    occurrence: int | None = None


class SemanticAction(WireModel):
    """A programmatic action carried alongside a message."""

    id: str | None = None
    state: str | None = None
    entities: dict[str, Any] | None = None


class Activity(WireModel):
    """A Bot Framework activity.

    ``type`` is required and accepts any string: unknown types are legal on the wire (see
    :class:`~bot.schema.enums.ActivityTypes` for the known ones). Every other field is
    optional, and fields the protocol does not name are kept.
    """

    type: str
    id: str | None = None
    timestamp: str | None = None
    local_timestamp: str | None = None
    local_timezone: str | None = None
    caller_id: str | None = None
    service_url: str | None = None
    channel_id: str | None = None
    from_: ChannelAccount | None = Field(default=None, alias="from")
    conversation: ConversationAccount | None = None
    recipient: ChannelAccount | None = None
    text_format: str | None = None
    attachment_layout: str | None = None
    members_added: list[ChannelAccount] | None = None
    members_removed: list[ChannelAccount] | None = None
    reactions_added: list[MessageReaction] | None = None
    reactions_removed: list[MessageReaction] | None = None
    topic_name: str | None = None
    history_disclosed: bool | None = None
    locale: str | None = None
    text: str | None = None
    speak: str | None = None
    input_hint: str | None = None
    summary: str | None = None
    suggested_actions: SuggestedActions | None = None
    attachments: list[Attachment] | None = None
    entities: list[Entity] | None = None
    channel_data: Any = None
    action: str | None = None
    reply_to_id: str | None = None
    label: str | None = None
    value_type: str | None = None
    value: Any = None
    name: str | None = None
    relates_to: ConversationReference | None = None
    code: str | None = None
    expiration: str | None = None
    importance: str | None = None
    delivery_mode: str | None = None
    listen_for: list[str] | None = None
    text_highlights: list[TextHighlight] | None = None
    semantic_action: SemanticAction | None = None
