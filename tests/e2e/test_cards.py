"""Adaptive Cards through the real host (auth ON): a template and data sent through the queue
arrives expanded and valid, ``Action.Execute`` on it answers the updated card and updates the
message for everyone, and invalid cards are refused at the API and poisoned from the queue with
their JSON path.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from bot.cards import ADAPTIVE_CARD_CONTENT_TYPE
from dev.channel import ChannelControl
from tests.e2e.host_api import Api, started
from tests.e2e.test_hostile_input import put_and_read_poison

pytestmark = pytest.mark.e2e


def alert(conversation_id: str, incident_id: str) -> dict[str, Any]:
    return {
        "version": 1,
        "id": f"e2e-alert-{uuid.uuid4().hex}",
        "conversation": {"channelId": "msteams", "conversationId": conversation_id},
        "activities": [
            {
                "type": "message",
                "attachments": [
                    {
                        "contentType": ADAPTIVE_CARD_CONTENT_TYPE,
                        "templateId": "incident-alert",
                        "data": {
                            "incidentId": incident_id,
                            "title": "Disk almost full",
                            "severity": "high",
                        },
                    }
                ],
            }
        ],
    }


def press(card: dict[str, Any]) -> dict[str, Any]:
    """The invoke value Teams sends for the card's (only) Action.Execute."""
    [action] = card["actions"]
    return {
        "action": {"type": "Action.Execute", "verb": action["verb"], "data": action["data"]},
        "trigger": "manual",
    }


async def press_on(
    channel: ChannelControl,
    conversation_id: str,
    card_id: str,
    card: dict[str, Any],
    *,
    user_id: str | None = None,
    user_name: str | None = None,
) -> dict[str, Any]:
    """A user presses the only button of ``card``, shown in message ``card_id``."""
    return await channel.invoke(
        conversation_id,
        "adaptiveCard/action",
        press(card),
        reply_to_id=card_id,
        user_id=user_id,
        user_name=user_name,
    )


def texts(card: dict[str, Any]) -> list[str]:
    return [item["text"] for item in card["body"] if item["type"] == "TextBlock"]


async def test_a_templated_alert_is_acknowledged_for_everyone_once(
    api: Api, channel: ChannelControl
) -> None:
    conversation_id, user_id = await started(channel)
    incident = f"INC-{uuid.uuid4().hex[:8]}"
    queued = alert(conversation_id, incident)

    [activity_id] = await api.delivered(queued)

    [record] = [
        r for r in await channel.requests(conversation_id) if r["activityId"] == activity_id
    ]
    [attachment] = record["activity"]["attachments"]
    assert set(attachment) == {"contentType", "content"}
    card = attachment["content"]
    assert (card["version"], texts(card)) == ("1.5", ["Disk almost full"])
    assert card["body"][1]["facts"][0]["value"] == incident

    pressed = await press_on(channel, conversation_id, activity_id, card, user_id=user_id)

    answer = pressed["response"]
    assert answer["status"] == 200
    assert answer["body"]["statusCode"] == 200
    assert answer["body"]["type"] == ADAPTIVE_CARD_CONTENT_TYPE
    acknowledged = answer["body"]["value"]
    assert "Acknowledged by Ada Lovelace" in texts(acknowledged)
    assert acknowledged["actions"] == []
    updates = [
        r
        for r in await channel.requests(conversation_id)
        if r["operation"] == "updateActivity" and r["activityId"] == activity_id
    ]
    assert len(updates) == 1
    assert updates[0]["authorized"] is True
    shown = updates[0]["activity"]["attachments"][0]["content"]
    assert "Acknowledged by Ada Lovelace" in texts(shown)

    again = await press_on(channel, conversation_id, activity_id, card, user_name="Grace Hopper")

    assert "Acknowledged by Ada Lovelace" in texts(again["response"]["body"]["value"])
    updates_after = [
        r
        for r in await channel.requests(conversation_id)
        if r["operation"] == "updateActivity" and r["activityId"] == activity_id
    ]
    assert len(updates_after) == 1


async def test_acknowledging_a_sent_alert_is_a_version_of_its_delivery(
    api: Api, channel: ChannelControl
) -> None:
    conversation_id, user_id = await started(channel)
    [activity] = alert(conversation_id, f"INC-{uuid.uuid4().hex[:8]}")["activities"]
    key, [_, card_id] = await api.send(
        conversation_id, {"type": "message", "text": "An incident:"}, activity
    )
    [record] = [r for r in await channel.requests(conversation_id) if r["activityId"] == card_id]
    card = record["activity"]["attachments"][0]["content"]

    pressed = await press_on(channel, conversation_id, card_id, card, user_id=user_id)

    assert "Acknowledged by Ada Lovelace" in texts(pressed["response"]["body"]["value"])
    receipt = await api.receipt(key)
    assert receipt is not None
    assert [(v["version"], v["operation"]) for v in receipt["versions"]] == [
        (1, "send"),
        (2, "update"),
    ]
    assert receipt["versions"][1]["activityIds"] == [None, card_id]
    records = await channel.requests(conversation_id)
    [update] = [r for r in records if r["operation"] == "updateActivity"]
    assert (update["activityId"], update["authorized"]) == (card_id, True)
    assert "Acknowledged by Ada Lovelace" in texts(update["activity"]["attachments"][0]["content"])


async def test_only_the_acknowledging_user_gets_a_refreshed_view_with_undo(
    api: Api, channel: ChannelControl
) -> None:
    conversation_id, user_id = await started(channel)
    queued = alert(conversation_id, f"INC-{uuid.uuid4().hex[:8]}")
    [card_id] = await api.delivered(queued)
    before = await channel.view(conversation_id, card_id, user_id=user_id)
    assert (before["refreshed"], before["response"]) == (False, None)
    await press_on(channel, conversation_id, card_id, before["card"], user_id=user_id)

    own = await channel.view(conversation_id, card_id, user_id=user_id)
    other = await channel.view(
        conversation_id, card_id, user_id=f"29:other-{uuid.uuid4().hex}", user_name="Grace Hopper"
    )

    assert own["refreshed"] is True
    assert own["response"]["body"]["statusCode"] == 200
    assert [a["title"] for a in own["card"]["actions"]] == ["Undo"]
    assert "Acknowledged by Ada Lovelace" in texts(own["card"])
    assert (other["refreshed"], other["response"]) == (False, None)
    assert other["card"]["actions"] == []
    assert other["card"]["refresh"]["userIds"] == [user_id]
    assert "Acknowledged by Ada Lovelace" in texts(other["card"])

    await press_on(channel, conversation_id, card_id, own["card"], user_id=user_id)

    after = await channel.view(conversation_id, card_id, user_id=user_id)
    assert after["refreshed"] is False
    assert [a["title"] for a in after["card"]["actions"]] == ["Acknowledge"]
    receipt = await api.receipt(queued["id"])
    assert receipt is not None
    assert [v["operation"] for v in receipt["versions"]] == ["send", "update", "update"]


async def test_an_unknown_verb_is_answered_as_an_error_of_the_protocol(
    channel: ChannelControl,
) -> None:
    conversation_id, _ = await started(channel)
    value = {"action": {"type": "Action.Execute", "verb": "launch", "data": {}}}

    answer = (await channel.invoke(conversation_id, "adaptiveCard/action", value))["response"]

    assert answer["status"] == 200
    assert answer["body"]["statusCode"] == 400
    assert answer["body"]["type"] == "application/vnd.microsoft.error"


INVALID_CARDS = [
    ({"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "Carousel"}]}, "body[0].type"),
    (
        {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": 1}]},
        "body[0].text",
    ),
    ({"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "Image"}]}, "body[0].url"),
    ({"type": "AdaptiveCard", "version": "1.6", "body": []}, "version"),
]


@pytest.mark.parametrize(("card", "path"), INVALID_CARDS)
async def test_an_invalid_card_is_refused_at_the_api_with_its_path(
    api: Api, channel: ChannelControl, card: dict[str, Any], path: str
) -> None:
    conversation_id, _ = await started(channel)
    body = {
        "conversationId": conversation_id,
        "channelId": "msteams",
        "activity": {
            "type": "message",
            "attachments": [{"contentType": ADAPTIVE_CARD_CONTENT_TYPE, "content": card}],
        },
    }

    status, _, answer = await api.call("POST", "/api/sendactivity", body)

    assert status == 400
    assert f"attachments[0].content.{path}" in answer["error"]["message"]
    assert len(await channel.requests(conversation_id)) == 1  # the welcome only


@pytest.mark.parametrize(("card", "path"), INVALID_CARDS)
async def test_an_invalid_card_is_poisoned_from_the_queue_with_its_path(
    api: Api, card: dict[str, Any], path: str
) -> None:
    marker = f"e2e-bad-card-{uuid.uuid4().hex}"
    message = {
        "version": 1,
        "id": marker,
        "conversation": {"channelId": "msteams", "conversationId": "a:1whatever"},
        "activities": [
            {
                "type": "message",
                "attachments": [{"contentType": ADAPTIVE_CARD_CONTENT_TYPE, "content": card}],
            }
        ],
    }

    poisoned = await put_and_read_poison(
        api.stack.host,
        api.stack.host.environment["PROACTIVE_QUEUE_NAME"],
        json.dumps(message),
        marker,
    )

    assert poisoned["reason"]["code"] == "InvalidMessage"
    assert f"attachments[0].content.{path}" in poisoned["reason"]["message"]
