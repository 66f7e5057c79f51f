"""GovernedSender: a permit per request, a held-back send is a 429 nothing else needs to know."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from bot.connector.errors import ConnectorError
from bot.proactive.failures import Verdict, classify
from bot.schema import (
    Activity,
    ActivityTypes,
    ConversationAccount,
    ConversationReference,
    ResourceResponse,
)
from bot.throttling.config import GovernorConfig
from bot.throttling.governor import RateGovernor, SendKey
from bot.throttling.sender import GovernedSender, LocalThrottleError
from tests.unit.throttling.virtual_time import VirtualTime

REFERENCE = ConversationReference(
    channel_id="msteams",
    service_url="https://smba.trafficmanager.net/emea/",
    conversation=ConversationAccount(id="a:1", tenant_id="tenant-a"),
)


class RecordingSender:
    """Stands in for the Connector: records each request, or answers with ``error``."""

    def __init__(self, time: VirtualTime) -> None:
        self.time = time
        self.sent: list[tuple[str | None, float]] = []
        self.error: ConnectorError | None = None

    async def send_activities(
        self, reference: ConversationReference, activities: Sequence[Activity]
    ) -> list[ResourceResponse]:
        if self.error is not None:
            raise self.error
        assert len(activities) == 1, "one request per activity"
        self.sent.append((activities[0].text, self.time.now))
        return [ResourceResponse(id=f"id-{len(self.sent)}")]

    async def update_activity(
        self, reference: ConversationReference, activity: Activity
    ) -> ResourceResponse:
        self.sent.append(("update", self.time.now))
        return ResourceResponse(id=activity.id)

    async def delete_activity(self, reference: ConversationReference, activity_id: str) -> None:
        self.sent.append(("delete", self.time.now))


def messages(count: int) -> list[Activity]:
    return [Activity(type=ActivityTypes.MESSAGE, text=str(index)) for index in range(count)]


def governed(time: VirtualTime, max_wait: float = 3.0) -> tuple[GovernedSender, RecordingSender]:
    rate = RateGovernor(
        GovernorConfig(max_wait_seconds=max_wait, margin_seconds=0.0),
        shared=False,
        clock=time.clock,
        sleep=time.sleep,
    )
    inner = RecordingSender(time)
    return GovernedSender(inner, lambda: rate), inner


async def test_activities_go_one_request_each_in_order_within_the_windows() -> None:
    time = VirtualTime()
    sender, inner = governed(time)

    [responses] = await time.run(sender.send_activities(REFERENCE, messages(9)))

    assert [text for text, _ in inner.sent] == [str(index) for index in range(9)]
    assert [moment - 1000 for _, moment in inner.sent] == [0.0] * 7 + [1.0, 2.0]
    assert [response.id for response in responses] == [f"id-{n}" for n in range(1, 10)]


async def test_a_send_that_would_wait_too_long_is_a_429_that_was_not_sent() -> None:
    time = VirtualTime()
    sender, inner = governed(time, max_wait=0.5)
    await time.run(sender.send_activities(REFERENCE, messages(7)))

    with pytest.raises(LocalThrottleError) as held:
        await sender.send_activities(REFERENCE, messages(1))

    error = held.value
    assert isinstance(error, ConnectorError)
    assert (error.status, error.code, error.retry_after) == (429, "RateLimited", 1.0)
    failure = classify(error)
    assert (failure.verdict, failure.maybe_sent, failure.throttled) == (Verdict.RETRY, False, True)
    assert failure.retry_after == 1.0
    assert len(inner.sent) == 7


async def test_a_real_429_is_reported_to_the_governor_and_raised_as_it_came() -> None:
    time = VirtualTime()
    sender, inner = governed(time, max_wait=float("inf"))
    inner.error = ConnectorError(429, "Throttled", "Too many requests.", retry_after=4.0)

    with pytest.raises(ConnectorError) as raised:
        await sender.send_activities(REFERENCE, messages(1))

    assert raised.value is inner.error
    inner.error = None
    await time.run(sender.send_activities(REFERENCE, messages(1)))
    assert inner.sent[-1][1] == pytest.approx(1004.0)


async def test_updates_and_deletes_are_governed_like_sends() -> None:
    time = VirtualTime()
    sender, inner = governed(time)
    await time.run(sender.send_activities(REFERENCE, messages(7)))

    await time.run(sender.update_activity(REFERENCE, Activity(type="message", id="id-1")))
    await time.run(sender.delete_activity(REFERENCE, "id-2"))

    assert [(text, moment - 1000) for text, moment in inner.sent[-2:]] == [
        ("update", 1.0),
        ("delete", 2.0),
    ]


def test_the_key_of_a_reference_names_channel_tenant_and_conversation() -> None:
    assert SendKey.of(REFERENCE) == SendKey("msteams", "tenant-a", "a:1")
    assert SendKey.of(ConversationReference(channel_id="slack")) == SendKey("slack", "", None)


async def test_a_reserved_permit_is_used_by_the_next_request() -> None:
    """The delivery ledger claims only once the permit is held (docs/delivery.md)."""
    time = VirtualTime()
    sender, inner = governed(time, max_wait=0.0)

    async def reserve_then_send() -> None:
        for _ in range(7):
            async with sender.reserve(REFERENCE):
                await sender.send_activities(REFERENCE, messages(1))

    await time.run(reserve_then_send())

    assert len(inner.sent) == 7
    with pytest.raises(LocalThrottleError):  # the 1 s window is full: no eighth reservation
        await time.run(reserve_then_send())


async def test_an_unused_reservation_counts_nothing() -> None:
    time = VirtualTime()
    sender, inner = governed(time, max_wait=0.0)

    async def reserve_only() -> None:
        for _ in range(20):
            async with sender.reserve(REFERENCE):
                pass  # the claim found the delivery already done: nothing sent

    await time.run(reserve_only())
    [responses] = await time.run(sender.send_activities(REFERENCE, messages(7)))

    assert len(responses) == 7  # the whole window is still there
    assert [moment - 1000 for _, moment in inner.sent] == [0.0] * 7
