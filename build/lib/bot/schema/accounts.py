"""Who takes part in a conversation, and the conversation itself."""

from __future__ import annotations

from typing import Any

from bot.schema.wire_model import WireModel


class ChannelAccount(WireModel):
    """A user or bot on a channel (``from``, ``recipient``, ``membersAdded`` entries)."""

    id: str | None = None
    """The channel's id of the account, for example ``29:1abc`` on Teams."""
    name: str | None = None
    aad_object_id: str | None = None
    """The Entra object id of the user, where the channel knows it (Teams)."""
    role: str | None = None
    """``user``, ``bot`` or ``skill`` (:class:`~bot.schema.enums.RoleTypes`)."""
    properties: Any = None


class ConversationAccount(WireModel):
    """The conversation an activity belongs to."""

    id: str | None = None
    name: str | None = None
    is_group: bool | None = None
    conversation_type: str | None = None
    """Teams: ``personal``, ``groupChat`` or ``channel``."""
    tenant_id: str | None = None
    aad_object_id: str | None = None
    role: str | None = None
    properties: Any = None
