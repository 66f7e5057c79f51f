"""Keys and lifetimes of inbound activity claims (the claims themselves: integration tests)."""

from __future__ import annotations

import pytest

from bot.schema import Activity
from bot.turn.redeliveries import (
    CLOCK_SKEW_SECONDS,
    MAX_TTL_SECONDS,
    MIN_TTL_SECONDS,
    activity_key,
    claim_ttl,
)

pytestmark = pytest.mark.usefixtures("configured")


def activity(**fields: object) -> Activity:
    values: dict[str, object] = {
        "type": "message",
        "id": "1",
        "channelId": "msteams",
        "conversation": {"id": "a:1"},
    }
    values.update(fields)
    return Activity.model_validate({k: v for k, v in values.items() if v is not None})


def test_an_activity_without_an_id_has_no_key() -> None:
    assert activity_key(activity(id=None)) is None
    assert activity_key(activity(id="")) is None


def test_the_key_is_a_storage_id_of_channel_conversation_and_id() -> None:
    key = activity_key(activity())
    assert key is not None
    assert key.startswith("v1-")
    assert "a:1" not in key
    assert key == activity_key(activity())
    assert key != activity_key(activity(id="2"))
    assert key != activity_key(activity(conversation={"id": "a:2"}))
    assert key != activity_key(activity(channelId="webchat"))


@pytest.mark.parametrize(
    ("claims", "ttl"),
    [
        ({}, MIN_TTL_SECONDS),
        ({"exp": 1000 + 60}, MIN_TTL_SECONDS),
        ({"exp": 1000 + 86400}, 86400 + CLOCK_SKEW_SECONDS),
        ({"exp": 1000 + 10**9}, MAX_TTL_SECONDS),
        ({"exp": "soon"}, MIN_TTL_SECONDS),
        ({"exp": True}, MIN_TTL_SECONDS),
    ],
)
def test_a_claim_lives_as_long_as_the_token_can_be_replayed(
    claims: dict[str, object], ttl: int
) -> None:
    assert claim_ttl(claims, now=1000) == ttl
