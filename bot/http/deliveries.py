"""``/api/deliveries/{id}``: the receipt of a proactive send, and its edit and recall.

``GET``: the receipt.

200 with the receipt (``id``, ``status``, ``attempts``, ``activityIds``, per-activity
``activities``, ``lastError``, times); 400 for an id that cannot be an idempotency id (1 to 128
of ``A-Z a-z 0-9 . _ : -``); 404 when no delivery has the id (or its receipt expired, seven
days after its last change). A receipt never holds message text. The function key and the read
role (:mod:`bot.http.caller_policy`). The receipt's ``versions`` list the send (version 1)
and every edit and recall applied since; ``recalled`` says whether it was recalled.

``PATCH`` ``{"activities": [...], "idempotencyKey"?}`` replaces each activity the delivery
sent, in place (the same number of activities); ``DELETE`` (``?idempotencyKey=`` optional)
recalls them. Both need the send role; 200 ``{"deliveryId", "operationId", "operation",
"status": "Updated" | "Recalled", "version", "activityIds", "repeated"}``; 400 a bad body or
a different number of activities (``ActivityCountMismatch``), 404 ``DeliveryNotFound``, 409
``DeliveryInProgress`` (with ``Retry-After``) while it is still being sent,
``DeliveryNotEditable`` once recalled, 403 when its conversation is retired or its serviceUrl
no longer allowed, 429/503/502 as a send (:mod:`bot.http.send`). The same
``idempotencyKey`` applies the operation once (:mod:`bot.proactive.edits`).
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

import azure.functions as func
from pydantic import Field

from bot.app import delivery_ledger
from bot.delivery import validate_delivery_id
from bot.delivery.records import DELIVERY_ID_PATTERN
from bot.http.api_request import RefusedRequest, read_request
from bot.http.send import MAX_BODY_BYTES, failure_response
from bot.http_responses import error_response, json_response, storage_unavailable
from bot.proactive.delivery import Outcome
from bot.proactive.edits import EditOperation, EditRequest
from bot.proactive.message import ID_PATTERN, MAX_ACTIVITIES, SendableActivity
from bot.request_model import RequestModel

logger = logging.getLogger(__name__)


async def get_delivery(req: func.HttpRequest) -> func.HttpResponse:
    """The receipt of the delivery named in the route."""
    from azure.core.exceptions import AzureError

    delivery_id = req.route_params.get("id", "")
    try:
        validate_delivery_id(delivery_id)
    except ValueError as error:
        return error_response(400, "InvalidDeliveryId", str(error))
    try:
        receipt = await delivery_ledger.get().get_receipt(delivery_id)
    except AzureError as error:
        logger.error("deliveries: storage failed: %s", type(error).__name__)
        return storage_unavailable()
    if receipt is None:
        return error_response(404, "DeliveryNotFound", "No delivery has this id.")
    return json_response(receipt.to_json())


class UpdateDeliveryBody(RequestModel):
    """The body of ``PATCH /api/deliveries/{id}``: one replacement per activity sent."""

    activities: Annotated[list[SendableActivity], Field(min_length=1, max_length=MAX_ACTIVITIES)]
    idempotency_key: Annotated[str | None, Field(pattern=ID_PATTERN)] = None
    """The operation's own id: repeating the request with it changes nothing more."""


async def edit_delivery(req: func.HttpRequest) -> func.HttpResponse:
    """``PATCH`` (edit) or ``DELETE`` (recall) the delivery named in the route."""
    delivery_id = req.route_params.get("id", "")
    try:
        validate_delivery_id(delivery_id)
    except ValueError as error:
        return error_response(400, "InvalidDeliveryId", str(error))
    if req.method.upper() == "PATCH":
        try:
            body = read_request(req, UpdateDeliveryBody, max_body_bytes=MAX_BODY_BYTES)
        except RefusedRequest as refusal:
            return refusal.response
        operation, key, activities = EditOperation.UPDATE, body.idempotency_key, body.activities
    else:
        key = req.params.get("idempotencyKey")
        if key is not None and not DELIVERY_ID_PATTERN.fullmatch(key):
            return error_response(
                400, "InvalidRequest", "idempotencyKey: 1 to 128 of A-Z a-z 0-9 . _ : -"
            )
        operation, activities = EditOperation.DELETE, []
    request = EditRequest(
        delivery_id=delivery_id,
        operation=operation,
        operation_id=key or f"edit-{uuid.uuid4().hex}",
        activities=tuple(activities),
    )
    return await _edit(request)


async def _edit(request: EditRequest) -> func.HttpResponse:
    from azure.core.exceptions import AzureError

    from bot.app import proactive_service
    from bot.delivery import LedgerConflictError

    try:
        edited = await proactive_service.get().edit(request)
    except (AzureError, LedgerConflictError) as error:
        logger.error("deliveries: storage failed: %s", type(error).__name__)
        return storage_unavailable()
    outcome = edited.outcome
    body: dict[str, Any] = {
        "deliveryId": request.delivery_id,
        "operationId": request.operation_id,
        "operation": request.operation.value,
        "activityIds": list(outcome.activity_ids),
    }
    if outcome.outcome is not Outcome.DELIVERED:
        return failure_response(outcome, body)
    body.update(
        {
            "status": "Recalled" if request.operation is EditOperation.DELETE else "Updated",
            "version": edited.version,
            "repeated": outcome.repeated,
        }
    )
    return json_response(body)
