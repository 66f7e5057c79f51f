"""Reading an Activity from the body of ``POST /api/messages``.

Every way a body can be wrong maps to one :class:`ActivityBodyError` with the HTTP status to
answer: too large 413, not JSON by content type 415, not a JSON object 400, not an Activity
400. Messages name the offending fields but never echo values (they may be user text).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from pydantic import ValidationError

from bot.schema.activity import Activity
from bot.schema.json_document import JsonDocumentError, parse_json

MAX_ACTIVITY_BODY_BYTES = 256 * 1024
"""The largest body accepted; Teams caps a message at about 100 KB, so 256 KB leaves room."""

_MAX_REPORTED_ERRORS = 10


class ActivityBodyError(Exception):
    """A request body that is not an acceptable Activity.

    Attributes:
        status: The HTTP status to answer (400, 413 or 415).
        code: A stable machine-readable code for the ``{"error": {"code", "message"}}`` body.
        message: What is wrong, naming fields but not echoing their values.
    """

    def __init__(self, status: HTTPStatus, code: str, message: str) -> None:
        super().__init__(message)
        self.status = int(status)
        self.code = code
        self.message = message


def _is_json_media_type(content_type: str | None) -> bool:
    if not content_type:
        return False
    media_type, _, parameters = content_type.partition(";")
    media_type = media_type.strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        return False
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        # JSON on the wire is UTF-8 (RFC 8259 section 8.1); another charset is refused
        # rather than guessed.
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            return False
    return True


def _decode_json(body: bytes) -> Any:
    try:
        return parse_json(body)
    except JsonDocumentError as error:
        raise ActivityBodyError(
            HTTPStatus.BAD_REQUEST, "InvalidJson", f"The body is {error.message}."
        ) from None


def _location(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path or "(body)"


def _describe(error: ValidationError) -> str:
    problems = [
        f"{_location(item['loc'])}: {item['msg']}"
        for item in error.errors(include_input=False, include_url=False)[:_MAX_REPORTED_ERRORS]
    ]
    more = error.error_count() - len(problems)
    suffix = f" (and {more} more)" if more > 0 else ""
    return "The body is not a valid Activity: " + "; ".join(problems) + suffix + "."


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def _missing_fields(activity: Activity) -> list[str]:
    missing = []
    if _blank(activity.type):
        missing.append("type")
    if _blank(activity.channel_id):
        missing.append("channelId")
    if _blank(activity.service_url):
        missing.append("serviceUrl")
    if activity.conversation is None or _blank(activity.conversation.id):
        missing.append("conversation.id")
    return missing


def parse_activity_body(body: bytes, content_type: str | None) -> Activity:
    """Parse and check the body of an inbound activity request.

    The size is checked first, on the raw bytes, so an oversized body is never decoded.

    Args:
        body: The raw request body.
        content_type: The request's ``Content-Type`` header, or ``None`` when absent.

    Returns:
        The activity; it has a non-empty ``type``, ``channelId``, ``serviceUrl`` and
        ``conversation.id``.

    Raises:
        ActivityBodyError: 413 ``PayloadTooLarge`` over :data:`MAX_ACTIVITY_BODY_BYTES`;
            415 ``UnsupportedMediaType`` when the content type is not JSON;
            400 ``InvalidJson`` when the body is not a JSON object;
            400 ``InvalidActivity`` when it is not an Activity or lacks a required field.
    """
    if len(body) > MAX_ACTIVITY_BODY_BYTES:
        raise ActivityBodyError(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            "PayloadTooLarge",
            f"The body is {len(body)} bytes; at most {MAX_ACTIVITY_BODY_BYTES} are accepted.",
        )
    if not _is_json_media_type(content_type):
        raise ActivityBodyError(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            "The body must be JSON, sent with Content-Type: application/json.",
        )
    document = _decode_json(body)
    if not isinstance(document, dict):
        raise ActivityBodyError(
            HTTPStatus.BAD_REQUEST,
            "InvalidJson",
            f"The body must be a JSON object (an Activity), not {_json_kind(document)}.",
        )
    try:
        activity = Activity.model_validate(document)
    except ValidationError as error:
        raise ActivityBodyError(
            HTTPStatus.BAD_REQUEST, "InvalidActivity", _describe(error)
        ) from None
    missing = _missing_fields(activity)
    if missing:
        raise ActivityBodyError(
            HTTPStatus.BAD_REQUEST,
            "InvalidActivity",
            "The activity lacks required fields (missing or empty): " + ", ".join(missing) + ".",
        )
    return activity


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"
