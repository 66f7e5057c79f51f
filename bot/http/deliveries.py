"""``GET /api/deliveries/{id}``: the receipt of a proactive send by its idempotency id.

200 with the receipt (``id``, ``status``, ``attempts``, ``activityIds``, per-activity
``activities``, ``lastError``, times); 400 for an id that cannot be an idempotency id (1 to 128
of ``A-Z a-z 0-9 . _ : -``); 404 when no delivery has the id (or its receipt expired, seven
days after its last change). A receipt never holds message text. The function key and the read
role (:mod:`bot.http.caller_policy`).
"""

from __future__ import annotations

import logging

import azure.functions as func

from bot.delivery import DeliveryLedger, validate_delivery_id
from bot.http.responses import error_response, json_response

logger = logging.getLogger(__name__)

_ledger = DeliveryLedger()


async def get_delivery(req: func.HttpRequest) -> func.HttpResponse:
    """The receipt of the delivery named in the route."""
    from azure.core.exceptions import AzureError

    delivery_id = req.route_params.get("id", "")
    try:
        validate_delivery_id(delivery_id)
    except ValueError as error:
        return error_response(400, "InvalidDeliveryId", str(error))
    try:
        receipt = await _ledger.get_receipt(delivery_id)
    except AzureError as error:
        logger.error("deliveries: storage failed: %s", type(error).__name__)
        return error_response(
            503,
            "StorageUnavailable",
            "The bot's storage is unavailable; try again.",
            {"Retry-After": "5"},
        )
    if receipt is None:
        return error_response(404, "DeliveryNotFound", "No delivery has this id.")
    return json_response(receipt.to_json())
