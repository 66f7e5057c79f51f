"""``POST /api/messages``: the channel delivers an activity; the bot takes its turn.

The order of checks keeps unauthenticated traffic cheap and never runs the handler for a
request that fails one: size (413), then the bearer token (401, before the body is parsed),
then the body (415/400), then the activity against its token (endorsed channel, serviceurl
claim, allow-list: 403). A client's mistake is never a 500. Then the activity's id is claimed
(:mod:`bot.turn.redeliveries`): a redelivered activity is answered 200 (``{"activities": []}``
for ``expectReplies``) without a second turn.
"""

from __future__ import annotations

import azure.functions as func

from bot.app import bot_application
from bot.auth.errors import AuthenticationError
from bot.auth.inbound import inbound_authenticator
from bot.http_responses import error_response, json_response
from bot.schema import (
    MAX_ACTIVITY_BODY_BYTES,
    Activity,
    ActivityBodyError,
    DeliveryModes,
    parse_activity_body,
)
from bot.turn import ClaimsIdentity
from bot.turn.redeliveries import redelivery_guard


def _already_taken(activity: Activity) -> func.HttpResponse:
    """The answer to a redelivered activity: success, and no second turn."""
    if activity.delivery_mode == DeliveryModes.EXPECT_REPLIES:
        return json_response({"activities": []})
    return func.HttpResponse(status_code=200)


async def messages(req: func.HttpRequest) -> func.HttpResponse:
    """Authenticate, parse and process one inbound activity.

    Returns:
        The turn's answer: 200 (no body) for most activities, the invoke response for an
        invoke, ``{"activities": [...]}`` for ``deliveryMode: expectReplies``; or a 4xx error.
    """
    body = req.get_body()
    if len(body) > MAX_ACTIVITY_BODY_BYTES:
        return error_response(
            413, "PayloadTooLarge", f"The body is over {MAX_ACTIVITY_BODY_BYTES} bytes."
        )
    authenticator = inbound_authenticator.get()
    try:
        inbound = await authenticator.authenticate(req.headers.get("Authorization"))
        activity = parse_activity_body(body, req.headers.get("Content-Type"))
        authenticator.check_activity(
            inbound, channel_id=activity.channel_id, service_url=activity.service_url
        )
    except AuthenticationError as error:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return error_response(error.status, error.code, error.message, headers)
    except ActivityBodyError as error:
        return error_response(error.status, error.code, error.message)

    guard = redelivery_guard.get()
    if not await guard.claim(activity, inbound.claims):
        return _already_taken(activity)
    identity = ClaimsIdentity(
        inbound.claims,
        is_authenticated=inbound.is_authenticated,
        authentication_type=inbound.kind,
    )
    application = bot_application.get()
    try:
        result = await application.adapter.process_activity(
            activity, identity, application.bot.on_turn
        )
    except Exception:
        await guard.release(activity)
        raise
    if result.status >= 500:
        # The channel retries a 5xx: that retry must run.
        await guard.release(activity)
    if result.body is None:
        return func.HttpResponse(status_code=result.status)
    return json_response(result.body, result.status)
