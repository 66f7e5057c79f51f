"""Inbound activity claims against the local Cosmos DB: one turn per activity, any instance."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from bot.schema import Activity
from bot.settings import Settings
from bot.turn.redeliveries import RedeliveryGuard

pytestmark = pytest.mark.services


def activity(activity_id: str | None = None) -> Activity:
    return Activity.model_validate(
        {
            "type": "message",
            "id": activity_id or uuid.uuid4().hex,
            "channelId": "msteams",
            "conversation": {"id": f"a:{uuid.uuid4().hex}"},
        }
    )


async def test_an_activity_is_claimed_once(bot_settings: Settings) -> None:
    del bot_settings
    guard, other_instance = RedeliveryGuard(), RedeliveryGuard()
    first = activity()

    assert await guard.claim(first, {}) is True
    assert await other_instance.claim(first, {}) is False
    assert await guard.claim(activity(), {}) is True


async def test_concurrent_claims_give_one_turn(bot_settings: Settings) -> None:
    del bot_settings
    guards = [RedeliveryGuard() for _ in range(8)]
    same = activity()

    taken = await asyncio.gather(*(guard.claim(same, {}) for guard in guards))

    assert taken.count(True) == 1


async def test_a_released_claim_can_be_taken_again(bot_settings: Settings) -> None:
    del bot_settings
    guard = RedeliveryGuard()
    failed = activity()
    assert await guard.claim(failed, {}) is True

    await guard.release(failed)

    assert await guard.claim(failed, {}) is True


async def test_an_activity_without_an_id_is_never_held(bot_settings: Settings) -> None:
    del bot_settings
    guard = RedeliveryGuard()
    anonymous = Activity.model_validate({"type": "message", "channelId": "msteams"})

    assert await guard.claim(anonymous, {}) is True
    assert await guard.claim(anonymous, {}) is True
