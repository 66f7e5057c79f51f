"""A channel's redelivery runs no second turn (docs/security-model.md, "Redelivered activities").

The same signed activity is posted again, and twice at once, straight to ``/api/messages``:
the bot answers each post with success and replies once. Another activity id is another turn.
Every post is answered after its turn, and replies go out inside the turn, so once the posts
are answered the channel's record is final.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from dev.channel import ChannelControl
from dev.stack import LocalStack
from tests.e2e.security_tokens import bearer, channel_message, encode, post_to_bot

pytestmark = pytest.mark.e2e

ECHO_PREFIX = "You said: "


async def new_activity(channel: ChannelControl, text: str) -> tuple[dict[str, Any], str]:
    """A user message in a new conversation, and that conversation's id."""
    conversation_id = f"a:redelivery-{uuid.uuid4().hex}"
    return await channel_message(channel, conversation_id, text), conversation_id


async def post(stack: LocalStack, channel: ChannelControl, activity: dict[str, Any]) -> int:
    """Post the activity with a fresh channel token; the answer's status."""
    token = await channel.channel_token(str(activity["serviceUrl"]))
    answer = await post_to_bot(stack.messages_url, encode(activity), authorization=bearer(token))
    return answer.status


async def echoes(channel: ChannelControl, conversation_id: str, text: str, at_least: int) -> int:
    records = await channel.wait_for_activities(conversation_id, at_least)
    return sum(1 for record in records if record["activity"].get("text") == ECHO_PREFIX + text)


async def test_the_same_activity_posted_again_runs_once(
    e2e_stack: LocalStack, channel: ChannelControl
) -> None:
    activity, conversation_id = await new_activity(channel, "once please")

    first = await post(e2e_stack, channel, activity)
    again = await post(e2e_stack, channel, activity)

    assert (first, again) == (200, 200)
    assert await echoes(channel, conversation_id, "once please", 1) == 1


async def test_the_same_activity_twice_at_once_runs_once(
    e2e_stack: LocalStack, channel: ChannelControl
) -> None:
    activity, conversation_id = await new_activity(channel, "at once")

    statuses = await asyncio.gather(*(post(e2e_stack, channel, activity) for _ in range(2)))

    assert statuses == [200, 200]
    assert await echoes(channel, conversation_id, "at once", 1) == 1


async def test_another_activity_id_is_another_turn(
    e2e_stack: LocalStack, channel: ChannelControl
) -> None:
    activity, conversation_id = await new_activity(channel, "twice")

    first = await post(e2e_stack, channel, activity)
    second = await post(e2e_stack, channel, {**activity, "id": uuid.uuid4().hex})

    assert (first, second) == (200, 200)
    assert await echoes(channel, conversation_id, "twice", 2) == 2
