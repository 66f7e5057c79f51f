"""The caller policy through a real host: every management route, every kind of caller.

A host of its own runs with ``PROACTIVE_API_AUDIENCE`` set; the local channel's issuer mints
the Entra ID tokens (its OpenID metadata stands in for the tenant's). For each management route:
no token 401, a delegated token 403 (even with the right role), a token with every role but the
route's 403, the route's role: the route answers as it would without the policy.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from dev.channel import ChannelControl
from dev.stack import HostProcess, LocalStack
from tests.e2e.side_hosts import YEARLY, side_host

pytestmark = pytest.mark.e2e

AUDIENCE = "api://proactive-bot-e2e"
TENANT = "0f0e0d0c-0b0a-4908-8706-050403020100"
CALLER = "99999999-0000-0000-0000-0000000000c1"
ROLES = {"send": "Proactive.Send", "schedules": "Proactive.Schedules", "read": "Proactive.Read"}


@pytest.fixture(scope="module")
def policy_host(e2e_stack: LocalStack) -> Iterator[HostProcess]:
    metadata = e2e_stack.host_environment["BOT_OPENID_METADATA_URL"]
    changes = {
        "PROACTIVE_API_AUDIENCE": AUDIENCE,
        "PROACTIVE_API_TENANT_ID": TENANT,
        "PROACTIVE_API_OPENID_METADATA_URL": metadata,
    }
    with side_host(e2e_stack, "caller-policy", changes) as host:
        yield host


@dataclass
class Caller:
    """Calls the policy host with tokens minted by the channel's issuer."""

    host: HostProcess
    channel: ChannelControl
    session: aiohttp.ClientSession

    async def token(self, roles: list[str], *, delegated: bool = False) -> str:
        claims: dict[str, Any] = {
            "iss": f"https://login.microsoftonline.com/{TENANT}/v2.0",
            "tid": TENANT,
            "azp": CALLER,
            "ver": "2.0",
            "idtyp": "user" if delegated else "app",
            "roles": roles,
        }
        if delegated:
            claims["scp"] = "access_as_user"
        return await self.channel.channel_token(audience=AUDIENCE, extra_claims=claims)

    async def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.session.request(
            method,
            self.host.url + path,
            json=body,
            headers=headers,
            timeout=aiohttp.ClientTimeout(30),
        ) as response:
            text = await response.text()
            return response.status, json.loads(text) if text else None


@pytest.fixture
async def caller(policy_host: HostProcess, channel: ChannelControl) -> AsyncIterator[Caller]:
    async with aiohttp.ClientSession() as session:
        yield Caller(policy_host, channel, session)


@pytest.fixture
async def conversation_id(channel: ChannelControl) -> str:
    started = await channel.start_conversation(user_name="Policy")
    conversation = str(started["conversationId"])
    await channel.wait_for_activities(conversation, 1)  # the welcome: the reference is stored
    return conversation


def schedule_body(conversation_id: str) -> dict[str, Any]:
    return {
        "conversation": {"channelId": "msteams", "conversationId": conversation_id},
        "cron": YEARLY.split(" ", 1)[1],  # once a year: it never fires during the test
        "activities": [{"type": "message", "text": "policy"}],
    }


def routes(
    conversation_id: str, reference: dict[str, Any], schedule_id: str
) -> list[tuple[str, str, str, Any, int]]:
    """(action, method, path, body, status with the right role) of every management route."""
    activity = {"type": "message", "text": "policy check"}
    query = f"channelId=msteams&conversationId={conversation_id}"
    send = {"conversationId": conversation_id, "activity": activity}
    to_reference = {"conversationReference": reference, "activity": activity}
    dry_run = {"audience": {"channelId": "msteams"}, "activity": activity, "dryRun": True}
    unknown = uuid.uuid4().hex[:12]
    return [
        ("send", "POST", "/api/sendactivity", send, 200),
        ("send", "POST", "/api/sendtoreference", to_reference, 200),
        ("send", "POST", "/api/broadcasts", dry_run, 200),
        ("read", "GET", f"/api/references?{query}", None, 200),
        ("read", "GET", f"/api/deliveries/unknown-{unknown}", None, 404),
        ("read", "GET", f"/api/broadcasts/unknown-{unknown}", None, 404),
        ("schedules", "GET", f"/api/schedules?{query}", None, 200),
        ("schedules", "GET", f"/api/schedules/{schedule_id}", None, 200),
        ("schedules", "PATCH", f"/api/schedules/{schedule_id}", {"name": "renamed"}, 200),
    ]


async def test_every_management_route_takes_only_an_app_token_with_its_role(
    caller: Caller, conversation_id: str
) -> None:
    schedule_id = f"policy-{uuid.uuid4().hex[:12]}"
    right = await caller.token([ROLES["schedules"]])
    status, created = await caller.call(
        "POST", "/api/schedules", {"id": schedule_id, **schedule_body(conversation_id)}, right
    )
    assert status == 201, created
    status, stored = await caller.call(
        "GET",
        f"/api/references?channelId=msteams&conversationId={conversation_id}",
        token=await caller.token([ROLES["read"]]),
    )
    assert status == 200, stored
    try:
        for action, method, path, body, expected in routes(
            conversation_id, stored["reference"], schedule_id
        ):
            others = [role for name, role in ROLES.items() if name != action]
            cases = {
                "no token": (None, 401),
                "delegated": (await caller.token(list(ROLES.values()), delegated=True), 403),
                "other roles": (await caller.token(others), 403),
                "right role": (await caller.token([ROLES[action]]), expected),
            }
            for case, (token, wanted) in cases.items():
                status, answer = await caller.call(method, path, body, token)
                assert status == wanted, f"{method} {path} ({case}): {status} {answer}"
                if wanted in (401, 403):
                    assert answer["error"]["code"], answer
    finally:
        status, _ = await caller.call("DELETE", f"/api/schedules/{schedule_id}", token=right)
        assert status == 204


async def test_creating_a_schedule_needs_the_schedule_role(
    caller: Caller, conversation_id: str
) -> None:
    schedule_id = f"policy-{uuid.uuid4().hex[:12]}"
    body = {"id": schedule_id, **schedule_body(conversation_id)}
    send_only = await caller.token([ROLES["send"], ROLES["read"]])

    status, answer = await caller.call("POST", "/api/schedules", body, send_only)

    assert (status, answer["error"]["code"]) == (403, "MissingRole")
    assert "Proactive.Schedules" in answer["error"]["message"]
    # Nothing was created: the schedule role finds no such schedule.
    reader = await caller.token([ROLES["schedules"]])
    status, _ = await caller.call("GET", f"/api/schedules/{schedule_id}", token=reader)
    assert status == 404


async def test_the_send_role_sends_and_nothing_is_sent_without_it(
    caller: Caller, channel: ChannelControl, conversation_id: str
) -> None:
    activity = {"type": "message", "text": "sent with the send role"}
    body = {"conversationId": conversation_id, "activity": activity}

    refused, _ = await caller.call(
        "POST", "/api/sendactivity", body, await caller.token([ROLES["read"]])
    )
    sent, answer = await caller.call(
        "POST", "/api/sendactivity", body, await caller.token([ROLES["send"]])
    )

    assert (refused, sent) == (403, 200), answer
    records = await channel.wait_for_activities(conversation_id, 2)
    texts = [record["activity"].get("text") for record in records]
    assert texts.count("sent with the send role") == 1
