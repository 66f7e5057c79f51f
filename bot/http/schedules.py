"""``/api/schedules``: cron schedules of proactive messages (docs/http-api.md, docs/schedules.md).

======================================  =====================================================
``POST /api/schedules``                 a schedule (see :mod:`bot.schedules.records`) → 201 and
                                        the stored schedule, ``Location`` its URL
``GET /api/schedules``                  ``?conversationId=&channelId=&userId=&pageSize=
                                        &continuation=`` → 200 ``{"schedules": [...],
                                        "continuation": "..." | null}``, oldest first
``GET /api/schedules/{id}``             → 200 the schedule
``PATCH /api/schedules/{id}``           a JSON merge patch of its fields → 200 the schedule
``DELETE /api/schedules/{id}``          → 204
======================================  =====================================================

``PATCH`` takes only the fields to change (``null`` removes one); read-only fields
(``nextRunAt``, ``lastRunAt``, ``runCount``, ``createdAt``, ``updatedAt``) are refused in
``POST`` and ``PATCH`` bodies. ``id`` may be given in a ``POST`` (1-64 of ``A-Z a-z 0-9 _ -``):
a retried create is then a 409 instead of a second schedule.

Errors are ``{"error": {"code", "message"}}`` and the message names the field: 400 invalid
JSON or fields (``InvalidCron``, ``UnknownTimeZone``, ``IntervalTooShort``, ``ReadOnlyField``,
``TargetNotFound``, ``InvalidSchedule``), 403 a target the bot may not send to, 404
``ScheduleNotFound``, 409 a taken id or an ambiguous conversation, 413 too large, 415 not JSON.
Nothing is stored when a request is refused. Access: the function key and the schedule role
(:mod:`bot.http.caller_policy`).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import azure.functions as func

from bot.app import schedule_service
from bot.http_responses import error_response, json_response
from bot.schedules.service import ScheduleRequestError
from bot.schedules.store import MAX_PAGE_SIZE
from bot.schema.json_document import JsonDocumentError, parse_json

MAX_BODY_BYTES = 256 * 1024
DEFAULT_PAGE_SIZE = 100


async def schedules(req: func.HttpRequest) -> func.HttpResponse:
    """``/api/schedules``: ``POST`` creates, ``GET`` lists."""
    try:
        if req.method.upper() == "POST":
            return await _create(req)
        return await _list(req)
    except ScheduleRequestError as error:
        return error_response(error.status, error.code, error.message)


async def schedule(req: func.HttpRequest) -> func.HttpResponse:
    """``/api/schedules/{id}``: ``GET`` reads, ``PATCH`` changes, ``DELETE`` deletes."""
    schedule_id = req.route_params.get("id", "")
    service = schedule_service.get()
    try:
        method = req.method.upper()
        if method == "DELETE":
            await service.delete(schedule_id)
            return func.HttpResponse(status_code=204)
        if method == "PATCH":
            changed = await service.update(schedule_id, _json_object(req))
            return json_response(changed.to_api())
        return json_response((await service.get(schedule_id)).to_api())
    except ScheduleRequestError as error:
        return error_response(error.status, error.code, error.message)


async def _create(req: func.HttpRequest) -> func.HttpResponse:
    created = await schedule_service.get().create(_json_object(req))
    return json_response(created.to_api(), 201, {"Location": f"/api/schedules/{created.id}"})


async def _list(req: func.HttpRequest) -> func.HttpResponse:
    params = req.params
    page = await schedule_service.get().list(
        channel_id=params.get("channelId") or None,
        conversation_id=params.get("conversationId") or None,
        user_id=params.get("userId") or None,
        page_size=_page_size(params.get("pageSize")),
        continuation=_decode_continuation(params.get("continuation")),
    )
    return json_response(
        {
            "schedules": [item.to_api() for item in page.schedules],
            "continuation": _encode_continuation(page.continuation),
        }
    )


def _json_object(req: func.HttpRequest) -> dict[str, Any]:
    body = req.get_body()
    if len(body) > MAX_BODY_BYTES:
        raise ScheduleRequestError(
            413, "PayloadTooLarge", f"The body is over {MAX_BODY_BYTES} bytes."
        )
    content_type = req.headers.get("Content-Type")
    if content_type and content_type.split(";")[0].strip().lower() not in (
        "application/json",
        "application/merge-patch+json",
    ):
        raise ScheduleRequestError(
            415, "UnsupportedMediaType", "The body must be application/json."
        )
    try:
        document = parse_json(body)
    except JsonDocumentError as error:
        raise ScheduleRequestError(400, "InvalidJson", f"The body is {error.message}.") from None
    if not isinstance(document, dict):
        raise ScheduleRequestError(400, "InvalidJson", "The body must be a JSON object.")
    return document


def _page_size(text: str | None) -> int:
    if not text:
        return DEFAULT_PAGE_SIZE
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE_SIZE:
        raise ScheduleRequestError(
            400, "InvalidQuery", f"pageSize: must be a whole number from 1 to {MAX_PAGE_SIZE}"
        )
    return int(text)


def _encode_continuation(token: str | None) -> str | None:
    # Cosmos DB continuations are JSON text; base64url keeps them safe in a query string.
    if token is None:
        return None
    return base64.urlsafe_b64encode(token.encode("utf-8")).decode("ascii").rstrip("=")


def _decode_continuation(text: str | None) -> str | None:
    if not text:
        return None
    try:
        padded = text + "=" * (-len(text) % 4)
        decoded = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True)
        return decoded.decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise ScheduleRequestError(
            400, "InvalidQuery", "continuation: not a value this API returned"
        ) from None
