"""The bot through the real entry point: the channel talks to /api/messages of the local host."""

from __future__ import annotations

import aiohttp
import pytest

from dev.channel import ChannelControl
from dev.stack import LocalStack

pytestmark = pytest.mark.e2e


async def test_welcome_and_echo_arrive_with_a_bot_token(channel: ChannelControl) -> None:
    started = await channel.start_conversation(user_name="Grace")
    conversation_id = started["conversationId"]
    assert started["started"]["status"] == 200

    said = await channel.say(conversation_id, "hello there")
    assert said["response"]["status"] == 200

    received = await channel.wait_for_activities(conversation_id, 2)
    texts = [record["activity"].get("text") for record in received]
    assert texts[0].startswith("Welcome!")
    assert texts[1] == "You said: hello there"
    requests = await channel.requests(conversation_id)
    assert requests
    assert all(request["authorized"] for request in requests)
    assert await channel.token_requests() >= 1


async def test_health_reports_cosmos_and_queue(e2e_stack: LocalStack) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(e2e_stack.host.url + "/api/health") as response,
    ):
        body = await response.json()

    assert response.status == 200
    assert body["cosmos"]["status"] == "up"
    assert body["queue"]["status"] == "up"


@pytest.mark.parametrize(
    ("authorization", "status"),
    [(None, 401), ("Basic abc", 401), ("Bearer", 401), ("Bearer not.a.jwt", 401)],
)
async def test_messages_without_a_valid_token_are_refused(
    e2e_stack: LocalStack, authorization: str | None, status: int
) -> None:
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    body = b'{"type": "message", "text": "hi"}'
    async with (
        aiohttp.ClientSession() as session,
        session.post(e2e_stack.messages_url, data=body, headers=headers) as response,
    ):
        error = await response.json()

    assert response.status == status
    assert set(error["error"]) == {"code", "message"}
