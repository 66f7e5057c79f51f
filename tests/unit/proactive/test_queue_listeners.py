"""The queue sender's listeners: a withheld message is not sent, and every outcome is reported.

The sender knows nothing of broadcasts; what it owes a listener is asked and told here with
stand-ins for the service (no storage, no Connector).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast

from bot.proactive.delivery import DeliveryOutcome, Outcome
from bot.proactive.queue_sender import QueueAction, QueueSender
from bot.proactive.service import ProactiveService

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)
BODY = json.dumps(
    {
        "version": 1,
        "id": "report-2026-11-22-ada",
        "conversation": {"channelId": "msteams", "conversationId": "a:1x2y3z"},
        "activities": [{"type": "message", "text": "Your report is ready"}],
    }
).encode()


class Listener:
    def __init__(self, *, withhold: bool) -> None:
        self.withhold = withhold
        self.withheld_ids: list[str] = []
        self.outcomes: list[tuple[str, Outcome]] = []

    async def withheld(self, delivery_id: str) -> bool:
        return self.withhold

    async def record_withheld(self, delivery_id: str) -> None:
        self.withheld_ids.append(delivery_id)

    async def record_outcome(self, delivery_id: str, outcome: DeliveryOutcome) -> None:
        self.outcomes.append((delivery_id, outcome.outcome))


class Service:
    def __init__(self) -> None:
        self.delivered: list[str] = []

    async def receipt(self, delivery_id: str) -> None:
        return None

    async def deliver(self, target: Any, activities: Any, **options: Any) -> DeliveryOutcome:
        self.delivered.append(options["delivery_id"])
        return DeliveryOutcome(Outcome.DELIVERED, activity_ids=("1:a",))


def sender(service: Service, *listeners: Listener) -> QueueSender:
    def no_queue() -> Any:
        raise AssertionError("no queue is needed")

    return QueueSender(
        cast("ProactiveService", service),
        listeners=listeners,
        queue=no_queue,
        poison_queue=no_queue,
        queue_name="proactive",
        clock=lambda: NOW,
    )


async def test_every_listener_hears_the_outcome() -> None:
    service, first, second = Service(), Listener(withhold=False), Listener(withhold=False)

    result = await sender(service, first, second).process(BODY)

    assert result.action is QueueAction.DELIVERED
    assert service.delivered == ["report-2026-11-22-ada"]
    assert first.outcomes == second.outcomes == [("report-2026-11-22-ada", Outcome.DELIVERED)]


async def test_a_withheld_message_is_not_sent_and_recorded_by_its_listener() -> None:
    service, passing, withholding = Service(), Listener(withhold=False), Listener(withhold=True)

    result = await sender(service, passing, withholding).process(BODY)

    assert result.action is QueueAction.CANCELLED
    assert service.delivered == []
    assert withholding.withheld_ids == ["report-2026-11-22-ada"]
    assert passing.withheld_ids == []
    assert passing.outcomes == withholding.outcomes == []


async def test_without_listeners_the_message_is_just_sent() -> None:
    service = Service()

    result = await sender(service).process(BODY)

    assert result.action is QueueAction.DELIVERED
    assert service.delivered == ["report-2026-11-22-ada"]
