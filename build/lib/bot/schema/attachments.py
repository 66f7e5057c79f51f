"""Content carried by an activity besides its text: attachments and entities."""

from __future__ import annotations

from typing import Any

from bot.schema.wire_model import WireModel


class Attachment(WireModel):
    """A file, card or media item (``contentType`` says which)."""

    content_type: str | None = None
    content_url: str | None = None
    content: Any = None
    name: str | None = None
    thumbnail_url: str | None = None


class Entity(WireModel):
    """Metadata about an activity: a mention, client info, a place...

    Only ``type`` is declared; the rest of an entity (``mentioned``, ``text``, ``locale``...)
    is kept as unknown fields, readable with ``entity.model_extra``.
    """

    type: str | None = None
