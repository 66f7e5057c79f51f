"""The bot's own token on the way out, through the real host (docs/security-model.md T1).

* A validly signed activity naming a serviceUrl off the allow-list is refused with 403 before
  the turn: no token is requested for it and nothing is sent anywhere.
* A Connector 401 gets one forced token refresh and one retry per send, then the send fails;
  the token never reaches the host's log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from dev.channel import ChannelControl
from dev.stack import LocalStack
from tests.e2e.security_tokens import (
    assert_error,
    bearer,
    encode,
    message_activity,
    new_conversation_id,
    post_to_bot,
)

pytestmark = pytest.mark.e2e

ECHO_PREFIX = "You said: "
SORRY = "Sorry, something went wrong."
"""What the adapter tells the user when a turn fails (``bot.turn.adapter.SORRY_MESSAGE``)."""


class LogSlice:
    """What a log file gained since this object was made."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._start = path.stat().st_size if path.exists() else 0

    def text(self) -> str:
        with self._path.open("rb") as handle:
            handle.seek(self._start)
            return handle.read().decode("utf-8", errors="replace")


@pytest.fixture
def host_log_slice(e2e_stack: LocalStack) -> LogSlice:
    return LogSlice(e2e_stack.host.log_file)


@pytest.fixture
async def clean_faults(channel: ChannelControl) -> AsyncIterator[None]:
    yield
    await channel.clear_faults()


async def started_conversation(channel: ChannelControl) -> str:
    """A new conversation whose welcome arrived, so the bot holds a valid token."""
    started = await channel.start_conversation(user_name="Eve")
    assert started["started"]["status"] == 200
    conversation_id: str = started["conversationId"]
    await channel.wait_for_activities(conversation_id, 1)
    return conversation_id


def texts(records: list[dict[str, Any]]) -> list[Any]:
    """The text of each recorded activity (None for a request without a body)."""
    return [(record["activity"] or {}).get("text") for record in records]


async def test_a_signed_activity_for_a_service_url_off_the_allow_list_is_403_and_costs_no_token(
    e2e_stack: LocalStack, channel: ChannelControl
) -> None:
    info = await channel.info()
    evil = "https://evil.example/"
    conversation_id = new_conversation_id("evil-service-url")
    token = await channel.channel_token(evil)
    activity = message_activity(
        service_url=evil, conversation_id=conversation_id, bot_id=info["appId"]
    )
    token_requests = await channel.token_requests()
    recorded = len(await channel.requests())

    answer = await post_to_bot(
        e2e_stack.messages_url, encode(activity), authorization=bearer(token)
    )

    # The token is genuine and its serviceurl claim matches: only the allow-list refuses it.
    assert_error(answer, 403, "ServiceUrlNotAllowed")
    assert "evil.example" in answer.body["error"]["message"]
    assert await channel.token_requests() == token_requests
    assert await channel.requests(conversation_id) == []
    assert len(await channel.requests()) == recorded


async def test_a_connector_401_gets_one_forced_refresh_and_the_echo_arrives(
    channel: ChannelControl, host_log_slice: LogSlice
) -> None:
    conversation_id = await started_conversation(channel)
    token_requests = await channel.token_requests()
    assert await channel.revoke_tokens() >= 1

    said = await channel.say(conversation_id, "hi after revocation")

    assert said["response"]["status"] == 200
    received = await channel.wait_for_activities(conversation_id, 2)
    assert received[-1]["activity"]["text"] == ECHO_PREFIX + "hi after revocation"
    assert await channel.token_requests() == token_requests + 1
    echo_attempts = (await channel.requests(conversation_id))[1:]
    assert [(record["status"], record["authorized"]) for record in echo_attempts] == [
        (401, False),
        (201, True),
    ]
    assert all(record["authorizationScheme"] == "Bearer" for record in echo_attempts)
    assert "eyJ" not in host_log_slice.text()


async def test_a_second_401_makes_the_send_give_up_without_another_refresh(
    channel: ChannelControl, host_log_slice: LogSlice, clean_faults: None
) -> None:
    conversation_id = await started_conversation(channel)
    token_requests = await channel.token_requests()
    await channel.set_fault(status=401, times=2, conversation_id=conversation_id)

    said = await channel.say(conversation_id, "hi into a wall")

    # The turn failed; the HTTP answer to the channel is still given, without a 500.
    assert said["response"]["status"] == 200
    after_welcome = (await channel.requests(conversation_id))[1:]
    echo = ECHO_PREFIX + "hi into a wall"
    assert texts(after_welcome) == [echo, echo, SORRY]
    assert [record["status"] for record in after_welcome] == [401, 401, 201]
    assert await channel.token_requests() == token_requests + 1
    delivered = texts(await channel.activities(conversation_id))
    assert echo not in delivered
    # The failed turn ends with the adapter's apology, which the exhausted fault lets through.
    assert delivered[-1] == SORRY
    assert "eyJ" not in host_log_slice.text()


async def test_a_connector_that_keeps_answering_401_gets_one_refresh_per_send(
    channel: ChannelControl, host_log_slice: LogSlice, clean_faults: None
) -> None:
    conversation_id = await started_conversation(channel)
    token_requests = await channel.token_requests()
    await channel.set_fault(status=401, times=None, conversation_id=conversation_id)

    said = await channel.say(conversation_id, "hi to nobody")

    assert said["response"]["status"] == 200
    after_welcome = (await channel.requests(conversation_id))[1:]
    # Two sends (the echo, then the apology), each tried twice: never a third attempt.
    assert texts(after_welcome) == [ECHO_PREFIX + "hi to nobody"] * 2 + [SORRY] * 2
    assert all(record["status"] == 401 for record in after_welcome)
    assert await channel.token_requests() == token_requests + 2
    assert len(await channel.activities(conversation_id)) == 1  # the welcome only
    assert "eyJ" not in host_log_slice.text()
