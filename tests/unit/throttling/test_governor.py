"""The rate governor on virtual time: the ceiling, never above it, and what a 429 does."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.channel_limits import DEFAULT_LIMITS, ChannelLimits, Window
from bot.throttling.config import GovernorConfig
from bot.throttling.governor import RateGovernor, RateLimitedError, SendKey
from bot.throttling.store import ThrottleRecords
from tests.unit.throttling.test_sliding_log import TEAMS_CONVERSATION, fits_every_window
from tests.unit.throttling.virtual_time import VirtualTime

TENANT = "tenant-a"
WALL_START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


class MemoryRecords(ThrottleRecords):
    """Shared throttle records in memory (what two instances would share through Cosmos)."""

    def __init__(self, time: VirtualTime) -> None:
        super().__init__(clock=time.clock)
        self.shared: dict[tuple[str, str], datetime] = {}
        self.lookups = 0

    async def until(self, channel_id: str, tenant_id: str) -> datetime | None:
        self.lookups += 1
        return self.shared.get((channel_id, tenant_id))

    async def record(self, channel_id: str, tenant_id: str, until: datetime) -> None:
        current = self.shared.get((channel_id, tenant_id))
        if current is None or current < until:
            self.shared[(channel_id, tenant_id)] = until


def governor(
    time: VirtualTime,
    *,
    max_wait: float = 3.0,
    margin: float = 0.0,
    records: ThrottleRecords | None = None,
    enabled: bool = True,
) -> RateGovernor:
    config = GovernorConfig(
        enabled=enabled, max_wait_seconds=max_wait, margin_seconds=margin, limits=DEFAULT_LIMITS
    )
    return RateGovernor(
        config,
        records=records,
        shared=records is not None,
        clock=time.clock,
        wall_clock=lambda: WALL_START + timedelta(seconds=time.now - 1000.0),
        sleep=time.sleep,
    )


def key(conversation: str | None = "a:1", tenant: str = TENANT) -> SendKey:
    return SendKey("msteams", tenant, conversation)


async def send(rate: RateGovernor, send_key: SendKey, latency: float = 0.0) -> float:
    """One request under a permit, answered after ``latency``; returns the grant time."""
    async with rate.permit(send_key):
        granted = rate._clock()
        if latency:
            await rate._sleep(latency)
    return granted


async def send_many(
    time: VirtualTime,
    rate: RateGovernor,
    keys: list[SendKey],
    granted: list[tuple[SendKey, float]],
    latency: float = 0.0,
) -> None:
    for send_key in keys:
        granted.append((send_key, await send(rate, send_key, latency)))


class TestOneConversation:
    async def test_200_ordered_sends_take_exactly_what_the_windows_allow(self) -> None:
        time = VirtualTime()
        rate = governor(time, max_wait=float("inf"))
        granted: list[tuple[SendKey, float]] = []

        await time.run(send_many(time, rate, [key()] * 200, granted))

        times = [moment - 1000.0 for _, moment in granted]
        assert times[-1] == pytest.approx(94.0)
        assert fits_every_window(times, TEAMS_CONVERSATION)

    async def test_a_send_that_would_wait_too_long_is_refused_and_counts_nothing(self) -> None:
        time = VirtualTime()
        rate = governor(time, max_wait=3.0)
        granted: list[tuple[SendKey, float]] = []
        await time.run(send_many(time, rate, [key()] * 60, granted))

        with pytest.raises(RateLimitedError) as refused:
            await send(rate, key())

        # The 61st fits 30 s after the first: from 14 s, about 16 s more.
        assert refused.value.retry_after == pytest.approx(16.0)
        assert rate.stats.deferred == 1
        time.now = 1030.0
        await time.run(send(rate, key()))
        assert rate.stats.granted == 61

    async def test_concurrent_sends_to_one_conversation_take_turns_in_order(self) -> None:
        time = VirtualTime()
        rate = governor(time, max_wait=float("inf"))
        order: list[int] = []

        async def send_one(index: int) -> None:
            async with rate.permit(key()):
                order.append(index)

        await time.run(*(send_one(index) for index in range(20)))

        assert order == list(range(20))


class TestTenant:
    async def test_one_send_per_conversation_goes_at_50_per_second(self) -> None:
        time = VirtualTime()
        rate = governor(time, max_wait=float("inf"))
        granted: list[tuple[SendKey, float]] = []
        keys = [key(f"a:{index}") for index in range(1000)]

        await time.run(*(send_many(time, rate, keys[i::24], granted) for i in range(24)))

        times = sorted(moment - 1000.0 for _, moment in granted)
        assert len(times) == 1000
        assert fits_every_window(times, (Window(50, 1),))
        # 50 at once, then 50 more every second: the 1,000th goes at 19 s.
        assert times[-1] == pytest.approx(19.0)

    async def test_tenants_do_not_share_the_limit(self) -> None:
        time = VirtualTime()
        rate = governor(time)
        granted: list[tuple[SendKey, float]] = []
        keys = [key(f"a:{index}", tenant=f"t{index % 2}") for index in range(100)]

        await time.run(send_many(time, rate, keys, granted))

        assert {moment for _, moment in granted} == {1000.0}

    async def test_a_conversation_at_its_limit_does_not_hold_back_its_tenant(self) -> None:
        time = VirtualTime()
        rate = governor(time, max_wait=float("inf"))
        busy: list[tuple[SendKey, float]] = []
        others: list[tuple[SendKey, float]] = []

        await time.run(
            send_many(time, rate, [key("a:busy")] * 9, busy),
            send_many(time, rate, [key(f"a:{index}") for index in range(30)], others),
        )

        assert busy[-1][1] == pytest.approx(1002.0)  # the busy conversation waits 2 s...
        assert all(moment == 1000.0 for _, moment in others)  # ...the others do not

    async def test_a_send_past_the_wait_bound_is_deferred_with_its_slot(self) -> None:
        time = VirtualTime()
        rate = governor(time, max_wait=0.5)
        granted: list[tuple[SendKey, float]] = []
        await time.run(send_many(time, rate, [key(f"a:{i}") for i in range(50)], granted))

        with pytest.raises(RateLimitedError) as refused:
            await send(rate, key("a:late"))

        assert refused.value.retry_after == pytest.approx(1.0)

    async def test_sends_in_flight_hold_their_place_until_answered(self) -> None:
        """The first sends wait for a token: answered late, they still count from then."""
        time = VirtualTime()
        rate = governor(time, max_wait=float("inf"))
        first: list[tuple[SendKey, float]] = []
        later: list[tuple[SendKey, float]] = []

        await time.run(
            *(send_many(time, rate, [key(f"a:{i}")], first, latency=0.9) for i in range(50)),
            send_many(time, rate, [key("a:next")], later),
        )

        assert {moment for _, moment in first} == {1000.0}
        # Not at 1001 (a second after the grants) but a second after the answers came.
        assert later[0][1] == pytest.approx(1001.9)

    async def test_a_full_window_of_sends_in_flight_waits_for_an_answer(self) -> None:
        time = VirtualTime()
        rate = governor(time, max_wait=0.5)
        released = asyncio.Event()

        async def held(index: int) -> None:
            async with rate.permit(key(f"a:{index}")):
                await released.wait()

        holders = [asyncio.ensure_future(held(index)) for index in range(50)]
        await asyncio.sleep(0)

        with pytest.raises(RateLimitedError) as refused:
            await time.run(send(rate, key("a:waiting")))
        assert refused.value.retry_after == pytest.approx(1.0)
        released.set()
        await asyncio.gather(*holders)


class TestThrottled:
    async def test_a_429_blocks_the_conversation_for_retry_after(self) -> None:
        time = VirtualTime()
        rate = governor(time, max_wait=float("inf"))
        await rate.throttled(key(), 10.0)

        await time.run(send(rate, key()))

        assert time.now == pytest.approx(1010.0)

    async def test_a_429_slows_the_tenant_for_at_most_its_cap(self) -> None:
        time = VirtualTime()
        rate = governor(time, max_wait=float("inf"))
        await rate.throttled(key(), 10.0)

        await time.run(send(rate, key("a:other")))

        assert time.now == pytest.approx(1001.0)  # Teams' cap: the 1 s tenant window

    async def test_a_429_without_retry_after_blocks_for_a_second(self) -> None:
        time = VirtualTime()
        rate = governor(time, max_wait=0.5)
        await rate.throttled(key(), None)

        with pytest.raises(RateLimitedError) as refused:
            await send(rate, key())

        assert refused.value.retry_after == pytest.approx(1.0)

    async def test_another_instance_waits_for_the_shared_record(self) -> None:
        time = VirtualTime()
        records = MemoryRecords(time)
        first = governor(time, records=records, max_wait=float("inf"))
        second = governor(time, records=records, max_wait=float("inf"))

        await first.throttled(key(), 5.0)
        await time.run(send(second, key("a:elsewhere")))

        assert records.shared[("msteams", TENANT)] == WALL_START + timedelta(seconds=1)
        assert time.now == pytest.approx(1001.0)

    async def test_a_shared_record_past_the_wait_bound_defers(self) -> None:
        time = VirtualTime()
        records = MemoryRecords(time)
        records.shared[("msteams", TENANT)] = WALL_START + timedelta(seconds=8)
        rate = governor(time, records=records, max_wait=3.0)

        with pytest.raises(RateLimitedError) as refused:
            await send(rate, key())

        assert refused.value.retry_after == pytest.approx(8.0)

    async def test_other_channels_have_no_windows_but_honour_429(self) -> None:
        time = VirtualTime()
        rate = governor(time, max_wait=float("inf"))
        slack = SendKey("slack", "", "C1")
        granted: list[tuple[SendKey, float]] = []

        await time.run(send_many(time, rate, [slack] * 100, granted))
        assert {moment for _, moment in granted} == {1000.0}

        await rate.throttled(slack, 2.0)
        await time.run(send(rate, slack))
        assert time.now == pytest.approx(1002.0)


class TestConfiguration:
    async def test_disabled_grants_everything_at_once(self) -> None:
        time = VirtualTime()
        rate = governor(time, enabled=False)
        granted: list[tuple[SendKey, float]] = []

        await time.run(send_many(time, rate, [key()] * 100, granted))

        assert {moment for _, moment in granted} == {1000.0}

    async def test_limits_are_per_channel(self) -> None:
        time = VirtualTime()
        strict = ChannelLimits(conversation=(Window(1, 1),), tenant=(Window(30, 1),))
        config = GovernorConfig(
            max_wait_seconds=float("inf"), margin_seconds=0.0, limits={"msteams": strict}
        )
        rate = RateGovernor(config, shared=False, clock=time.clock, sleep=time.sleep)
        granted: list[tuple[SendKey, float]] = []

        await time.run(send_many(time, rate, [key()] * 3, granted))

        assert [moment for _, moment in granted] == [1000.0, 1001.0, 1002.0]

    async def test_a_key_without_conversation_counts_only_against_the_tenant(self) -> None:
        time = VirtualTime()
        rate = governor(time, max_wait=float("inf"))
        granted: list[tuple[SendKey, float]] = []

        await time.run(send_many(time, rate, [key(None)] * 51, granted))

        assert granted[-1][1] == pytest.approx(1001.0)


async def test_the_turns_of_finished_conversations_are_forgotten() -> None:
    time = VirtualTime()
    rate = governor(time)
    await time.run(*(send(rate, key(f"a:{index}")) for index in range(10)))
    await asyncio.sleep(0)

    assert rate._turns == {}
    assert rate._answered == {}
