"""``POST /api/broadcasts`` and ``GET /api/broadcasts/{operationId}``: one message to many.

``POST`` (the send role of the caller policy, :mod:`bot.http.caller_policy`) takes a
:class:`~bot.broadcast.request.BroadcastRequest`::

    {"audience": {"channelId": "msteams", "tenantId": "..."},
     "activities": [{"type": "message", "text": "..."}], "operationId"?: "...", "dryRun"?: false}

and answers 202 ``{"operationId", "total"}`` with ``Location: /api/broadcasts/{operationId}``
(200 for a repeat of an operation already started: nothing is sent twice); a dry run answers
200 ``{"dryRun": true, "total"}`` and sends nothing. 400 a bad body (the field named), 409 an
``operationId`` already used for another broadcast, 413 too large, 415 not JSON, 503 storage
unavailable.

``GET`` (the read role) answers 200 with the progress: ``status`` (``FanningOut``, ``Sending``,
``Completed``), ``total``, ``sent``, ``failed``, ``pending``, ``enqueued``, ``failures`` by
code, ``cancelled`` and the progress of each edit; 400 an invalid id; 404 an unknown one.

``POST /api/broadcasts/{operationId}/cancel`` (send role) stops a running broadcast: no more
pages are read, and recipients' messages still in the queue are not sent (their outcome is
``Cancelled``); 200 with the progress (``Cancelling``, then ``Cancelled``). Idempotent.

``PATCH`` ``{"activities": [...] | "activity": {...}, "idempotencyKey"?}`` and ``DELETE``
(``?idempotencyKey=``) of ``/api/broadcasts/{operationId}`` (send role) edit or recall every
recipient's message of a broadcast that is no longer sending, one update or delete per
recipient through the fan-out and the proactive queue, at the rate governor's pace
(:mod:`bot.broadcast.edits`): 202 with the edit's progress (``number``, ``status``, ``total``,
``done``, ``failed``, ``pending``), also listed under ``edits`` by ``GET``; 409
``BroadcastInProgress`` while it is still sending, 400 ``ActivityCountMismatch``.
"""

from __future__ import annotations

import logging
from typing import Annotated, Self

import azure.functions as func
from pydantic import Field, model_validator

from bot.broadcast.ids import is_operation_id
from bot.broadcast.request import BroadcastRequest
from bot.http.api_request import RefusedRequest, field_errors_response, read_request
from bot.http_responses import error_response, json_response, storage_unavailable
from bot.proactive.message import ID_PATTERN, MAX_ACTIVITIES, InvalidMessageError, SendableActivity
from bot.request_model import RequestModel

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 2 * 1024 * 1024
"""Larger bodies are refused before parsing (10,000 user ids fit comfortably)."""


async def start_broadcast(req: func.HttpRequest) -> func.HttpResponse:
    """Start a broadcast, or count its audience (``dryRun``)."""
    from azure.core.exceptions import AzureError

    from bot.app import broadcast_service
    from bot.broadcast.records import OperationConflictError
    from bot.connector.errors import ConnectorError
    from bot.proactive.errors import ProactiveError

    try:
        request = read_request(req, BroadcastRequest, max_body_bytes=MAX_BODY_BYTES)
    except RefusedRequest as refusal:
        return refusal.response
    try:
        service = broadcast_service.get()
        if request.dry_run:
            total = await service.count(request)
            return json_response({"dryRun": True, "total": total})
        started = await service.start(request)
    except InvalidMessageError as error:
        return field_errors_response("InvalidRequest", error.errors)
    except OperationConflictError as error:
        return error_response(409, "OperationConflict", str(error))
    except ProactiveError as error:
        # A team audience the bot is not (or no longer) in.
        return error_response(error.status, error.code, error.message)
    except ConnectorError as error:
        logger.warning("broadcasts: the team roster could not be read: %s", error.code)
        return error_response(502, error.code, "the team's roster could not be read")
    except AzureError as error:
        logger.error("broadcasts: storage failed: %s", type(error).__name__)
        return storage_unavailable()
    body = {"operationId": started.operation_id, "total": started.total}
    location = {"Location": f"/api/broadcasts/{started.operation_id}"}
    return json_response(body, 202 if started.created else 200, location)


async def get_broadcast(req: func.HttpRequest) -> func.HttpResponse:
    """The progress of the broadcast named in the route."""
    from azure.core.exceptions import AzureError

    from bot.app import broadcast_service

    operation_id = req.route_params.get("operationId", "")
    if not is_operation_id(operation_id):
        return error_response(
            400, "InvalidOperationId", "An operation id is 1 to 64 of A-Z a-z 0-9 _ -."
        )
    try:
        progress = await broadcast_service.get().progress(operation_id)
    except AzureError as error:
        logger.error("broadcasts: storage failed: %s", type(error).__name__)
        return storage_unavailable()
    if progress is None:
        return error_response(404, "OperationNotFound", "No broadcast has this operation id.")
    return json_response(progress.to_json())


class EditBroadcastBody(RequestModel):
    """The body of ``PATCH /api/broadcasts/{operationId}``."""

    activities: Annotated[
        list[SendableActivity] | None, Field(min_length=1, max_length=MAX_ACTIVITIES)
    ] = None
    activity: SendableActivity | None = None
    idempotency_key: Annotated[str | None, Field(pattern=ID_PATTERN)] = None

    @model_validator(mode="after")
    def _one_way_to_give_activities(self) -> Self:
        if (self.activities is None) == (self.activity is None):
            raise ValueError("give exactly one of activities (a list) and activity")
        return self


async def edit_broadcast(req: func.HttpRequest) -> func.HttpResponse:
    """Edit (``PATCH``) or recall (``DELETE``) every recipient's message of a broadcast."""
    from azure.core.exceptions import AzureError

    from bot.app import broadcast_service
    from bot.broadcast.edits import BroadcastBusyError, EditCountError

    operation_id = req.route_params.get("operationId", "")
    if not is_operation_id(operation_id):
        return _invalid_operation_id()
    activities: list[dict[str, object]] | None = None
    if req.method.upper() == "PATCH":
        try:
            body = read_request(req, EditBroadcastBody, max_body_bytes=MAX_BODY_BYTES)
        except RefusedRequest as refusal:
            return refusal.response
        given = body.activities if body.activities is not None else [body.activity]
        activities = [activity.to_wire() for activity in given if activity is not None]
        key = body.idempotency_key
    else:
        key = req.params.get("idempotencyKey")
        if key is not None and not is_idempotency_key(key):
            return error_response(
                400, "InvalidRequest", "idempotencyKey: 1 to 128 of A-Z a-z 0-9 . _ : -"
            )
    kind = "update" if activities is not None else "delete"
    try:
        edit = await broadcast_service.get().edit(operation_id, kind, activities, key)
    except BroadcastBusyError as error:
        return error_response(409, "BroadcastInProgress", str(error))
    except EditCountError as error:
        return error_response(400, "ActivityCountMismatch", str(error))
    except AzureError as error:
        logger.error("broadcasts: storage failed: %s", type(error).__name__)
        return storage_unavailable()
    if edit is None:
        return _not_found()
    location = {"Location": f"/api/broadcasts/{operation_id}"}
    return json_response({"operationId": operation_id, **edit}, 202, location)


async def cancel_broadcast(req: func.HttpRequest) -> func.HttpResponse:
    """Cancel a running broadcast: what is not sent yet is not sent."""
    from azure.core.exceptions import AzureError

    from bot.app import broadcast_service

    operation_id = req.route_params.get("operationId", "")
    if not is_operation_id(operation_id):
        return _invalid_operation_id()
    try:
        progress = await broadcast_service.get().cancel(operation_id)
    except AzureError as error:
        logger.error("broadcasts: storage failed: %s", type(error).__name__)
        return storage_unavailable()
    if progress is None:
        return _not_found()
    return json_response(progress.to_json())


def is_idempotency_key(value: str) -> bool:
    """Whether ``value`` is 1 to 128 of ``A-Z a-z 0-9 . _ : -``."""
    from bot.delivery.records import DELIVERY_ID_PATTERN

    return DELIVERY_ID_PATTERN.fullmatch(value) is not None


def _invalid_operation_id() -> func.HttpResponse:
    return error_response(
        400, "InvalidOperationId", "An operation id is 1 to 64 of A-Z a-z 0-9 _ -."
    )


def _not_found() -> func.HttpResponse:
    return error_response(404, "OperationNotFound", "No broadcast has this operation id.")
