"""``GET /api/references``: the stored conversation reference of one conversation.

    GET /api/references?channelId=msteams&conversationId=a:1xyz[&tenantId=...]

200 answers what the store holds, in wire form::

    {"channelId", "conversationId", "tenantId", "userId", "conversationType", "personal",
     "reference": {...ConversationReference, no activityId...},
     "active", "reason", "inactiveAt", "firstSeen", "lastSeen"}

404 ``ReferenceNotFound`` when the bot never heard from the conversation (or its reference
expired), 409 ``AmbiguousConversation`` when ``tenantId`` is omitted and several tenants have
the id, 400 when a parameter is missing or too long, 503 when Cosmos DB does not answer.
The function key and the read role (:mod:`bot.http.caller_policy`): a reference holds user ids.
"""

from __future__ import annotations

import logging
from typing import Any

import azure.functions as func

from bot.app import reference_store
from bot.http_responses import error_response, json_response
from bot.references import AmbiguousReferenceError, StoredReference
from bot.storage.timestamps import to_timestamp

logger = logging.getLogger(__name__)

MAX_PARAMETER_LENGTH = 4096
"""Longest id accepted (as in queue messages; real ids are far shorter)."""


def reference_json(stored: StoredReference) -> dict[str, Any]:
    """The wire fields of a stored reference document."""
    return {
        "channelId": stored.channel_id,
        "conversationId": stored.conversation_id,
        "tenantId": stored.tenant_id,
        "userId": stored.user_id,
        "conversationType": stored.conversation_type,
        "personal": stored.personal,
        "reference": stored.reference.to_wire(),
        "active": stored.active,
        "reason": stored.reason,
        "inactiveAt": to_timestamp(stored.inactive_at) if stored.inactive_at else None,
        "firstSeen": to_timestamp(stored.first_seen),
        "lastSeen": to_timestamp(stored.last_seen),
    }


def _parameter(req: func.HttpRequest, name: str) -> str | None:
    value = (req.params.get(name) or "").strip()
    return value or None


async def get_reference(req: func.HttpRequest) -> func.HttpResponse:
    """Answer the stored reference of ``channelId`` + ``conversationId`` (+ ``tenantId``)."""
    channel_id = _parameter(req, "channelId")
    conversation_id = _parameter(req, "conversationId")
    tenant_id = _parameter(req, "tenantId")
    if channel_id is None or conversation_id is None:
        return error_response(
            400, "BadRequest", "channelId and conversationId are required query parameters."
        )
    if any(
        value is not None and len(value) > MAX_PARAMETER_LENGTH
        for value in (channel_id, conversation_id, tenant_id)
    ):
        return error_response(
            400, "BadRequest", f"ids are at most {MAX_PARAMETER_LENGTH} characters."
        )
    # Imported here: azure.core is only needed once a request reaches the store.
    from azure.core.exceptions import AzureError

    try:
        stored = await reference_store.get().get(channel_id, conversation_id, tenant_id)
    except AmbiguousReferenceError as error:
        return error_response(
            409,
            "AmbiguousConversation",
            f"{len(error.matches)} tenants have this conversation id; add tenantId.",
        )
    except AzureError as error:
        logger.warning("references: the store did not answer: %s", type(error).__name__)
        return error_response(503, "StoreUnavailable", "The reference store did not answer.")
    if stored is None:
        return error_response(
            404, "ReferenceNotFound", "No reference is stored for this conversation."
        )
    return json_response(reference_json(stored))
