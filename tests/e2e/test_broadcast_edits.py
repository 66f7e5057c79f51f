"""Cancelling, editing and recalling broadcasts through the real host, auth ON, the channel
enforcing the Teams limits (429 above 7/1 s ... 50/s per tenant).

The audience is seeded as in ``test_broadcast`` (``E2E_BROADCAST_EDIT_USERS``, 200 by default;
``E2E_BROADCAST_CANCEL_USERS``, 600, for the cancel). The cancel test prints how long after the
cancel the last message went out (tests never assert on timing).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from dev.channel import ChannelControl
from dev.stack import LocalStack
from tests.e2e.host_api import Api
from tests.e2e.test_broadcast import broadcast, seed

pytestmark = pytest.mark.e2e

AUDIENCE = int(os.environ.get("E2E_BROADCAST_EDIT_USERS", "200"))
CANCEL_AUDIENCE = int(os.environ.get("E2E_BROADCAST_CANCEL_USERS", "600"))
"""Large enough that at 50 messages a second the broadcast is still running when cancelled."""


async def test_a_completed_broadcast_is_updated_then_recalled_for_every_recipient(
    e2e_stack: LocalStack, api: Api, channel: ChannelControl
) -> None:
    tenant, audience = await seed(e2e_stack, channel, "edit", AUDIENCE)
    started = broadcast(tenant, "The office is closed on Friday.")
    operation = started["operationId"]
    async with channel.rate_limited():
        status, _, _ = await api.call("POST", "/api/broadcasts", started)
        assert status == 202
        assert (await api.finished_broadcast(operation))["sent"] == AUDIENCE

        fix = {"activity": {"type": "message", "text": "The office is closed on Monday."}}
        status, _, edit = await api.call("PATCH", f"/api/broadcasts/{operation}", fix)
        assert status == 202, edit
        assert (edit["number"], edit["operation"]) == (1, "update")
        await api.broadcast_until(operation, lambda p: p["edits"][0]["status"] == "Completed")

        status, _, recall = await api.call("DELETE", f"/api/broadcasts/{operation}")
        assert status == 202, recall
        progress = await api.broadcast_until(
            operation, lambda p: len(p["edits"]) == 2 and p["edits"][1]["status"] == "Completed"
        )
        records = [r for r in await channel.requests() if r["conversationId"] in audience]

    [update, delete] = progress["edits"]
    assert (update["done"], update["failed"]) == (AUDIENCE, 0)
    assert (delete["done"], delete["failed"], delete["operation"]) == (AUDIENCE, 0, "delete")
    updates = [r for r in records if r["operation"] == "updateActivity" and r["status"] == 200]
    deletes = [r for r in records if r["operation"] == "deleteActivity" and r["status"] == 200]
    assert len({r["activityId"] for r in updates}) == len(updates) == AUDIENCE
    assert len({r["activityId"] for r in deletes}) == len(deletes) == AUDIENCE
    assert all(r["activity"]["text"] == "The office is closed on Monday." for r in updates)
    assert [r for r in records if r["status"] == 429] == []


async def test_a_broadcast_cancelled_halfway_stops_and_says_how_many_were_sent(
    e2e_stack: LocalStack, api: Api, channel: ChannelControl
) -> None:
    tenant, audience = await seed(e2e_stack, channel, "cancel", CANCEL_AUDIENCE)
    started = broadcast(tenant, "Wrong audience, sorry.")
    operation = started["operationId"]
    async with channel.rate_limited():
        status, _, _ = await api.call("POST", "/api/broadcasts", started)
        assert status == 202
        await api.broadcast_until(operation, lambda p: p["sent"] >= CANCEL_AUDIENCE // 4)

        cancelled_at = datetime.now(UTC)
        status, _, cancelled = await api.call("POST", f"/api/broadcasts/{operation}/cancel")
        assert status == 200, cancelled
        assert cancelled["status"] in ("Cancelling", "Cancelled")
        progress = await api.broadcast_until(operation, lambda p: p["status"] == "Cancelled")
        sent = [
            r
            for r in await channel.requests()
            if r["conversationId"] in audience and r["status"] == 201
        ]
        # Edits are refused while it sends; once cancelled, a recall is accepted.
        status, _, recall = await api.call("DELETE", f"/api/broadcasts/{operation}")

    last = max(datetime.fromisoformat(r["receivedAt"]) for r in sent)
    print(
        f"\ncancel: {progress['sent']} of {progress['total']} sent, {progress['cancelled']} "
        f"cancelled; last send {(last - cancelled_at).total_seconds():.2f} s after the cancel"
    )
    assert progress["sent"] == len(sent)
    assert 0 < progress["sent"] < CANCEL_AUDIENCE
    assert progress["cancelled"] > 0
    assert progress["sent"] + progress["failed"] == progress["total"]
    assert progress["pending"] == 0
    assert status == 202, recall
    assert recall["total"] == progress["sent"]
