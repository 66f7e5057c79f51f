"""What answers an activity: Connector results, invoke responses, buffered replies, errors."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from bot.schema.activity import Activity
from bot.schema.wire_model import WireModel


class ResourceResponse(WireModel):
    """The Connector's answer to a send or update: the id of the activity.

    ``id`` is ``None`` where nothing was sent over the wire (a reply buffered for
    ``expectReplies``, an invoke response) or when a channel answered without an id.
    """

    id: str | None = None


class InvokeResponse(WireModel):
    """The synchronous answer to an ``invoke`` activity: an HTTP status and a JSON body."""

    status: int
    body: Any = None


class ExpectedReplies(WireModel):
    """The body answering a ``deliveryMode: expectReplies`` activity."""

    activities: list[Activity] = Field(default_factory=list)


class InnerHttpError(WireModel):
    """The HTTP status and body of the call behind a Connector error."""

    status_code: int | None = None
    body: Any = None


class Error(WireModel):
    """A Connector error: a code and a message."""

    code: str | None = None
    message: str | None = None
    inner_http_error: InnerHttpError | None = None


class ErrorResponse(WireModel):
    """The body of every failed Connector operation."""

    error: Error | None = None
