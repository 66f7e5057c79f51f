"""A broadcast through the real host, auth ON, the channel enforcing the Teams limits.

The audience (1,000 personal conversations of a fresh tenant) is stored by a separate process
with the host's settings, as inbound turns store references (``python -m bench.broadcast
seed``): that takes seconds, where 1,000 conversations started through ``/api/messages`` take
far longer. Then ``POST /api/broadcasts`` fans out, the host's queue trigger sends, and the
channel's connector answers 429 to any request above 7/1 s, 8/2 s, 60/30 s, 1,800/h per
conversation or 50/s per tenant.

The test asserts the behaviour: every user gets exactly one message, the connector answers no
429, and the progress adds up. It prints the first to last arrival against ``1,000 / 50 RPS``;
the bound on that time (at most 15% over) is a target of ``python -m bench --only broadcast``,
since tests never assert on timing. ``E2E_BROADCAST_USERS`` makes the audience smaller for a
quick local run.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

import pytest

from bench.broadcast import arrival_span, conversation_id, seed_audience
from dev.channel import ChannelControl
from dev.stack import LocalStack
from tests.e2e.host_api import BROADCAST_DEADLINE_SECONDS, Api

pytestmark = pytest.mark.e2e

AUDIENCE = int(os.environ.get("E2E_BROADCAST_USERS", "1000"))
TENANT_RPS = 50


async def seed(
    stack: LocalStack, channel: ChannelControl, label: str, count: int
) -> tuple[str, set[str]]:
    """Store ``count`` conversations of a new tenant pointing at the channel.

    Returns:
        The tenant's id (``label`` and a random suffix) and the conversations' ids.
    """
    tenant = f"{label}-{uuid.uuid4().hex[:8]}"
    info = await channel.info()
    result = await asyncio.to_thread(
        seed_audience,
        stack.host_environment,
        tenant,
        count,
        str(info["serviceUrl"]),
        str(info["appId"]),
        timeout=BROADCAST_DEADLINE_SECONDS,
    )
    print(f"\nseeded {result['stored']} conversations in {result['seconds']} s")
    prefix = str(result["prefix"])
    return tenant, {conversation_id(prefix, index) for index in range(count)}


def broadcast(tenant: str, text: str) -> dict[str, Any]:
    """A broadcast request of ``text`` to every stored conversation of ``tenant``."""
    return {
        "audience": {"channelId": "msteams", "tenantId": tenant},
        "activity": {"type": "message", "text": text},
        "operationId": f"e2e-{uuid.uuid4().hex}",
    }


async def test_a_broadcast_reaches_every_user_once_at_the_tenant_ceiling(
    e2e_stack: LocalStack, api: Api, channel: ChannelControl
) -> None:
    tenant, audience_ids = await seed(e2e_stack, channel, "broadcast", AUDIENCE)
    body = broadcast(tenant, "The office is closed on Friday.")
    status, _, dry = await api.call("POST", "/api/broadcasts", {**body, "dryRun": True})
    assert (status, dry) == (200, {"dryRun": True, "total": AUDIENCE})

    async with channel.rate_limited():
        status, _, started = await api.call("POST", "/api/broadcasts", body)
        assert status == 202, started
        assert started == {"operationId": body["operationId"], "total": AUDIENCE}
        progress = await api.finished_broadcast(body["operationId"])
        records = [
            record
            for record in await channel.requests()
            if record["conversationId"] in audience_ids
        ]

    # A repeat of the same operation is answered, and sends nothing more.
    status, _, repeated = await api.call("POST", "/api/broadcasts", body)
    assert (status, repeated) == (200, started)

    delivered = [record for record in records if record["status"] == 201]
    throttled = [record for record in records if record["status"] == 429]
    span = arrival_span(delivered)
    ceiling = AUDIENCE / TENANT_RPS
    print(
        f"broadcast to {AUDIENCE}: first to last arrival {span:.2f} s "
        f"(ceiling {ceiling:.0f} s, {span / ceiling:.1%}), {len(throttled)} x 429"
    )
    assert len(throttled) == 0
    assert sorted(record["conversationId"] for record in delivered) == sorted(audience_ids)
    assert all(record["activity"]["text"] == body["activity"]["text"] for record in delivered)
    assert (progress["total"], progress["sent"], progress["failed"], progress["pending"]) == (
        AUDIENCE,
        AUDIENCE,
        0,
        0,
    )
