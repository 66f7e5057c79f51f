"""Buttons and suggested replies."""

from __future__ import annotations

from typing import Any

from bot.schema.wire_model import WireModel


class CardAction(WireModel):
    """A clickable action: a card button or a suggested action."""

    type: str | None = None
    """What clicking does (:class:`~bot.schema.enums.ActionTypes`)."""
    title: str | None = None
    image: str | None = None
    image_alt_text: str | None = None
    text: str | None = None
    display_text: str | None = None
    value: Any = None
    channel_data: Any = None


class SuggestedActions(WireModel):
    """Actions offered to the user as quick replies."""

    to: list[str] | None = None
    """Ids of the recipients who should see the actions (all when absent)."""
    actions: list[CardAction] | None = None
