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
code; 400 an invalid id; 404 an unknown one.
"""

from __future__ import annotations

import logging

import azure.functions as func

from bot.broadcast.ids import is_operation_id
from bot.broadcast.request import BroadcastRequest
from bot.http.api_request import RefusedRequest, field_errors_response, read_request
from bot.http.responses import error_response, json_response
from bot.proactive.message import InvalidMessageError

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 2 * 1024 * 1024
"""Larger bodies are refused before parsing (10,000 user ids fit comfortably)."""


async def start_broadcast(req: func.HttpRequest) -> func.HttpResponse:
    """Start a broadcast, or count its audience (``dryRun``)."""
    from azure.core.exceptions import AzureError

    from bot.broadcast.operations import OperationConflictError
    from bot.broadcast.service import broadcast_service

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
    except AzureError as error:
        logger.error("broadcasts: storage failed: %s", type(error).__name__)
        return _storage_unavailable()
    body = {"operationId": started.operation_id, "total": started.total}
    location = {"Location": f"/api/broadcasts/{started.operation_id}"}
    return json_response(body, 202 if started.created else 200, location)


async def get_broadcast(req: func.HttpRequest) -> func.HttpResponse:
    """The progress of the broadcast named in the route."""
    from azure.core.exceptions import AzureError

    from bot.broadcast.service import broadcast_service

    operation_id = req.route_params.get("operationId", "")
    if not is_operation_id(operation_id):
        return error_response(
            400, "InvalidOperationId", "An operation id is 1 to 64 of A-Z a-z 0-9 _ -."
        )
    try:
        progress = await broadcast_service.get().progress(operation_id)
    except AzureError as error:
        logger.error("broadcasts: storage failed: %s", type(error).__name__)
        return _storage_unavailable()
    if progress is None:
        return error_response(404, "OperationNotFound", "No broadcast has this operation id.")
    return json_response(progress.to_json())


def _storage_unavailable() -> func.HttpResponse:
    return error_response(
        503,
        "StorageUnavailable",
        "The bot's storage is unavailable; try again.",
        {"Retry-After": "5"},
    )
