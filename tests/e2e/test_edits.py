"""Edit and recall through the real host (auth ON): ``PATCH`` / ``DELETE /api/deliveries/{id}``
and queue messages with ``operation``, against the local channel's Connector.

What "the channel shows" is the connector's log replayed: an activity's latest accepted
update replaces it, an accepted delete removes it.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from dev.channel import ChannelControl
from tests.e2e.host_api import Api, message, started

pytestmark = pytest.mark.e2e


async def shown(channel: ChannelControl, conversation_id: str) -> dict[str, str | None]:
    """The text of each bot activity as the conversation now shows it, by activity id."""
    view: dict[str, str | None] = {}
    for record in await channel.requests(conversation_id):
        if not 200 <= record["status"] < 300:
            continue
        activity_id = record["activityId"]
        if record["operation"] in ("sendToConversation", "replyToActivity", "updateActivity"):
            view[activity_id] = (record["activity"] or {}).get("text")
        elif record["operation"] == "deleteActivity":
            view.pop(activity_id, None)
    return view


def edit(delivery_id: str, operation: str, *texts: str) -> dict[str, Any]:
    """A queue message that updates (to ``texts``) or deletes what ``delivery_id`` sent."""
    queued: dict[str, Any] = {
        "version": 1,
        "id": f"e2e-{operation}-{uuid.uuid4().hex}",
        "operation": operation,
        "deliveryId": delivery_id,
    }
    if texts:
        queued["activities"] = [{"type": "message", "text": text} for text in texts]
    return queued


def operations(records: list[dict[str, Any]], operation: str, activity_id: str) -> int:
    return sum(
        1
        for record in records
        if record["operation"] == operation
        and record["activityId"] == activity_id
        and 200 <= record["status"] < 300
    )


async def test_patch_then_delete_change_and_remove_what_the_channel_shows(
    api: Api, channel: ChannelControl
) -> None:
    conversation_id, _ = await started(channel)
    delivery_id, [first, second] = await api.send(
        conversation_id,
        {"type": "message", "text": "draft one"},
        {"type": "message", "text": "draft two"},
    )

    status, _, body = await api.call(
        "PATCH",
        f"/api/deliveries/{delivery_id}",
        {
            "activities": [
                {"type": "message", "text": "final one"},
                {"type": "message", "text": "final two"},
            ]
        },
    )

    assert status == 200, body
    assert (body["status"], body["version"], body["activityIds"]) == (
        "Updated",
        2,
        [first, second],
    )
    view = await shown(channel, conversation_id)
    assert (view[first], view[second]) == ("final one", "final two")
    updates = [
        r for r in await channel.requests(conversation_id) if r["operation"] == "updateActivity"
    ]
    assert all(r["authorized"] for r in updates)

    status, _, body = await api.call("DELETE", f"/api/deliveries/{delivery_id}")

    assert status == 200, body
    assert (body["status"], body["version"]) == ("Recalled", 3)
    view = await shown(channel, conversation_id)
    assert first not in view
    assert second not in view
    receipt = await api.receipt(delivery_id)
    assert receipt is not None
    assert [v["operation"] for v in receipt["versions"]] == ["send", "update", "delete"]
    assert receipt["recalled"] is True
    assert "final one" not in api.stack.host.log_file.read_text(errors="replace")

    again = await api.call(
        "PATCH", f"/api/deliveries/{delivery_id}", {"activities": [{"type": "message"}] * 2}
    )
    assert (again[0], again[2]["error"]["code"]) == (409, "DeliveryNotEditable")


async def test_edits_are_refused_with_the_reason(api: Api, channel: ChannelControl) -> None:
    conversation_id, _ = await started(channel)
    delivery_id, _ = await api.send(conversation_id, {"type": "message", "text": "only one"})

    wrong_count = await api.call(
        "PATCH", f"/api/deliveries/{delivery_id}", {"activities": [{"type": "message"}] * 2}
    )
    unknown = await api.call("DELETE", f"/api/deliveries/never-sent-{uuid.uuid4().hex}")
    bad_body = await api.call("PATCH", f"/api/deliveries/{delivery_id}", {"activity": {}})
    bad_id = await api.call("DELETE", "/api/deliveries/not%20valid")

    assert (wrong_count[0], wrong_count[2]["error"]["code"]) == (400, "ActivityCountMismatch")
    assert (unknown[0], unknown[2]["error"]["code"]) == (404, "DeliveryNotFound")
    assert (bad_body[0], bad_body[2]["error"]["code"]) == (400, "InvalidRequest")
    assert bad_id[0] == 400


async def test_the_same_queued_update_three_times_updates_once(
    api: Api, channel: ChannelControl
) -> None:
    conversation_id, _ = await started(channel)
    original = message(conversation_id, f"status: running {uuid.uuid4().hex}")
    [activity_id] = await api.delivered(original)
    update = edit(original["id"], "update", "status: done")

    await api.enqueue(update, update)
    await api.enqueue(update)

    assert (await api.final_receipt(update["id"]))["status"] == "Delivered"
    await api.queue_drained()
    records = await channel.requests(conversation_id)
    assert operations(records, "updateActivity", activity_id) == 1
    assert (await shown(channel, conversation_id))[activity_id] == "status: done"
    receipt = await api.receipt(original["id"])
    assert receipt is not None
    assert [v["operationId"] for v in receipt["versions"]] == [original["id"], update["id"]]


async def test_an_update_queued_before_its_send_waits_for_it(
    api: Api, channel: ChannelControl
) -> None:
    conversation_id, _ = await started(channel)
    original = message(conversation_id, f"first draft {uuid.uuid4().hex}")
    update = edit(original["id"], "update", "second draft")
    await api.enqueue(update)
    waiting = await api.receipt(update["id"])
    assert waiting is None or waiting["status"] in ("Retrying", "Sending")
    await api.enqueue(original)

    assert (await api.final_receipt(update["id"]))["status"] == "Delivered"
    [activity_id] = (await api.final_receipt(original["id"]))["activityIds"]
    assert (await shown(channel, conversation_id))[activity_id] == "second draft"


async def test_a_queued_recall_deletes_what_the_delivery_sent(
    api: Api, channel: ChannelControl
) -> None:
    conversation_id, _ = await started(channel)
    original = message(conversation_id, f"wrong audience {uuid.uuid4().hex}")
    [activity_id] = await api.delivered(original)
    recall = edit(original["id"], "delete")

    await api.enqueue(recall)

    assert (await api.final_receipt(recall["id"]))["status"] == "Delivered"
    assert activity_id not in await shown(channel, conversation_id)
    receipt = await api.receipt(original["id"])
    assert receipt is not None
    assert receipt["recalled"] is True
