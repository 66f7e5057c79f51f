"""Proactive turns computed at fire time, against the real Cosmos emulator and local channel:
the first computation of an id is the one sent, whatever happens to the host in between."""

from __future__ import annotations

import uuid

import pytest

from bot.connector.sender import ConnectorSender
from bot.proactive.delivery import Outcome
from bot.proactive.message import ConversationTarget, ProactiveEvent
from bot.schema import Activity
from bot.throttling.sender import GovernedSender
from bot.turn import BotAdapter, TurnContext
from tests.integration.test_proactive_support import Proactive

pytestmark = pytest.mark.services


def counting_logic(proactive: Proactive) -> list[str]:
    """The bot answers each ``Tick`` event with a new text; returns what it computed."""
    computed: list[str] = []

    async def logic(context: TurnContext) -> None:
        assert context.activity.type == "event"
        text = f"computed {len(computed) + 1} ({context.activity.value['n']})"
        computed.append(text)
        await context.send_activity(text)

    adapter = BotAdapter(GovernedSender(ConnectorSender()))
    proactive.service.turns._adapter = lambda: (adapter, logic)
    return computed


async def test_an_event_turn_runs_once_and_its_sends_go_under_the_ledger(
    proactive: Proactive,
) -> None:
    stored = await proactive.conversation()
    target = ConversationTarget(channel_id="msteams", conversation_id=stored.conversation_id)
    computed = counting_logic(proactive)
    delivery_id = f"event-{uuid.uuid4().hex}"
    event = ProactiveEvent(name="Tick", value={"n": 7})

    first = await proactive.service.deliver_event(target, event, delivery_id=delivery_id)
    again = await proactive.service.deliver_event(target, event, delivery_id=delivery_id)

    assert computed == ["computed 1 (7)"]
    assert (first.outcome, again.outcome, again.repeated) == (
        Outcome.DELIVERED,
        Outcome.DELIVERED,
        True,
    )
    records = await proactive.control.activities(stored.conversation_id)
    assert [r["activity"]["text"] for r in records] == ["computed 1 (7)"]
    receipt = await proactive.ledger.get_receipt(delivery_id)
    assert receipt is not None
    assert receipt.activity_ids == [records[0]["activityId"]]


async def test_a_host_that_died_after_computing_sends_what_it_computed_not_a_new_turn(
    proactive: Proactive,
) -> None:
    stored = await proactive.conversation()
    target = ConversationTarget(channel_id="msteams", conversation_id=stored.conversation_id)
    computed = counting_logic(proactive)
    delivery_id = f"event-{uuid.uuid4().hex}"
    # The dead host got as far as remembering its computation, and sent nothing.
    await proactive.service.computed.remember(
        delivery_id, [Activity(type="message", text="computed by the host that died")]
    )

    outcome = await proactive.service.deliver_event(
        target, ProactiveEvent(name="Tick", value={"n": 1}), delivery_id=delivery_id
    )

    assert outcome.outcome is Outcome.DELIVERED
    assert computed == []
    records = await proactive.control.activities(stored.conversation_id)
    assert [r["activity"]["text"] for r in records] == ["computed by the host that died"]


async def test_two_computations_of_one_id_keep_the_first(proactive: Proactive) -> None:
    delivery_id = f"event-{uuid.uuid4().hex}"
    first = [Activity(type="message", text="first")]

    kept = await proactive.service.computed.remember(delivery_id, first)
    later = await proactive.service.computed.remember(
        delivery_id, [Activity(type="message", text="second"), Activity(type="message")]
    )

    assert [a.text for a in kept] == ["first"]
    assert [a.text for a in later] == ["first"]
