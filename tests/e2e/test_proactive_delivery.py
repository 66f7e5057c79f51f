"""Proactive delivery through the real host: queue trigger, send API, receipts (auth ON).

An external producer (``python -m bot.proactive``, a separate process) puts messages on the
host's proactive queue; the host's queue trigger delivers them to the local channel's Connector
with the bot's token. Conversations are started by the channel's users, so references are
captured by the real ``/api/messages`` pipeline.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from dev.channel import ChannelControl
from tests.e2e.host_api import DEADLINE_SECONDS, Api, message, started

pytestmark = pytest.mark.e2e


def proactive_posts(records: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    return [r for r in records if (r["activity"] or {}).get("text") == text]


async def test_an_enqueued_message_reaches_the_conversation_with_a_receipt(
    api: Api, channel: ChannelControl
) -> None:
    conversation_id, _ = await started(channel)
    text = f"Your report is ready {uuid.uuid4().hex}"
    queued = message(conversation_id, text)

    await api.enqueue(queued)

    [welcome, record] = await channel.wait_for_activities(conversation_id, 2, DEADLINE_SECONDS)
    assert record["activity"]["text"] == text
    assert record["conversationId"] == conversation_id
    assert (record["hasAuthorization"], record["authorizationScheme"]) == (True, "Bearer")
    assert record["authorized"] is True
    receipt = await api.final_receipt(queued["id"])
    assert receipt["status"] == "Delivered"
    assert receipt["activityIds"] == [record["activityId"]]
    assert text not in api.stack.host.log_file.read_text(errors="replace")
    del welcome


async def test_the_same_message_three_times_and_twice_at_once_posts_once(
    api: Api, channel: ChannelControl
) -> None:
    conversation_id, _ = await started(channel)
    once = message(conversation_id, f"once {uuid.uuid4().hex}")
    parallel = message(conversation_id, f"parallel {uuid.uuid4().hex}")

    await api.enqueue(once)
    assert (await api.final_receipt(once["id"]))["status"] == "Delivered"
    await api.enqueue(once, once)
    await api.enqueue(parallel, parallel)
    assert (await api.final_receipt(parallel["id"]))["status"] == "Delivered"
    await api.queue_drained()

    records = await channel.requests(conversation_id)
    assert len(proactive_posts(records, once["activities"][0]["text"])) == 1
    assert len(proactive_posts(records, parallel["activities"][0]["text"])) == 1
    assert (await api.receipt(once["id"]) or {})["attempts"] == 1


async def test_throttling_is_honoured_then_delivered_once(
    api: Api, channel: ChannelControl
) -> None:
    conversation_id, _ = await started(channel)
    await channel.set_fault(status=429, retry_after=2, times=1, conversation_id=conversation_id)
    queued = message(conversation_id, f"after the throttle {uuid.uuid4().hex}")

    await api.enqueue(queued)

    receipt = await api.final_receipt(queued["id"])
    assert (receipt["status"], receipt["attempts"]) == ("Delivered", 2)
    attempts = proactive_posts(
        await channel.requests(conversation_id), queued["activities"][0]["text"]
    )
    assert [record["status"] for record in attempts] == [429, 201]
    throttled, delivered = (datetime.fromisoformat(r["receivedAt"]) for r in attempts)
    assert delivered - throttled >= timedelta(seconds=2)


async def test_a_bot_removed_from_the_roster_is_not_retried_until_the_user_speaks(
    api: Api, channel: ChannelControl
) -> None:
    conversation_id, _ = await started(channel)
    await channel.set_fault(
        status=403, code="BotNotInConversationRoster", times=1, conversation_id=conversation_id
    )
    refused = message(conversation_id, f"are you there {uuid.uuid4().hex}")

    await api.enqueue(refused)

    receipt = await api.final_receipt(refused["id"])
    assert receipt["status"] == "Failed"
    assert receipt["lastError"]["code"] == "BotNotInConversationRoster"
    assert receipt["attempts"] == 1
    await api.queue_drained()
    text = refused["activities"][0]["text"]
    assert len(proactive_posts(await channel.requests(conversation_id), text)) == 1
    reference = await api.reference(conversation_id)
    assert (reference["active"], reference["reason"]) == (False, "BotNotInConversationRoster")

    said = await channel.say(conversation_id, "I am back")
    assert said["response"]["status"] == 200
    assert (await api.reference(conversation_id))["active"] is True
    welcome_back = message(conversation_id, f"welcome back {uuid.uuid4().hex}")
    await api.enqueue(welcome_back)
    assert (await api.final_receipt(welcome_back["id"]))["status"] == "Delivered"


async def test_the_send_api_delivers_and_repeats_by_key(api: Api, channel: ChannelControl) -> None:
    conversation_id, _ = await started(channel)
    key = f"e2e-api-{uuid.uuid4().hex}"
    body = {
        "conversationId": conversation_id,
        "channelId": "msteams",
        "activities": [{"type": "message", "text": "by the API"}],
        "idempotencyKey": key,
    }

    first = await api.call("POST", "/api/sendactivity", body)
    again = await api.call("POST", "/api/sendactivity", body)

    assert (first[0], again[0]) == (200, 200)
    assert first[2]["status"] == "Delivered"
    assert again[2]["activityIds"] == first[2]["activityIds"]
    assert len(proactive_posts(await channel.requests(conversation_id), "by the API")) == 1
    assert (await api.receipt(key) or {})["activityIds"] == first[2]["activityIds"]
    unknown = await api.call(
        "POST", "/api/sendactivity", {**body, "conversationId": "a:1nope", "idempotencyKey": None}
    )
    assert unknown[0] == 404
    assert (await api.call("GET", "/api/deliveries/not%20valid"))[0] == 400


async def test_a_foreign_service_url_is_refused_without_a_token(
    api: Api, channel: ChannelControl
) -> None:
    await started(channel)  # the bot holds a token already; none more may be asked for
    tokens_before = await channel.token_requests()
    evil_conversation = f"a:1evil{uuid.uuid4().hex}"
    reference = {
        "channelId": "msteams",
        "serviceUrl": "https://evil.example/",
        "conversation": {"id": evil_conversation},
    }

    status, _, body = await api.call(
        "POST",
        "/api/sendtoreference",
        {"conversationReference": reference, "activities": [{"type": "message", "text": "x"}]},
    )
    queued: dict[str, Any] = {
        "version": 1,
        "id": f"e2e-evil-{uuid.uuid4().hex}",
        "reference": reference,
        "activities": [{"type": "message", "text": "x"}],
    }
    await api.enqueue(queued)
    receipt = await api.final_receipt(queued["id"])

    assert (status, body["error"]["code"]) == (403, "ServiceUrlNotAllowed")
    assert (receipt["status"], receipt["lastError"]["code"]) == ("Refused", "ServiceUrlNotAllowed")
    assert receipt["attempts"] == 1
    assert await channel.token_requests() == tokens_before
    assert await channel.requests(evil_conversation) == []
