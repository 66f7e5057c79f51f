"""The rate governor: every send of the process goes at the channel's ceiling, never above it.

One :class:`RateGovernor` per process (``rate_governor.get()``) grants a permit around each
request (``async with governor.permit(key): send``). It keeps, per channel
(:mod:`bot.channel_limits`):

* per conversation (Teams: 7/1 s, 8/2 s, 60/30 s, 1,800/h) and per tenant (Teams: 50/s), the
  sends in flight and a log of when the earlier ones were answered, checked exactly in
  O(windows) per send (:mod:`bot.throttling.sliding_log`); a send counts from its permit until
  its answer, so no delay between the two (a first token request, a busy event loop) can make
  the channel see more than a window allows;
* across instances, the same windows for the whole app (docs/rate-limits.md), when the
  governor was given them: each instance sends in a tenant only on the shares of its budget
  it leased from Cosmos DB (:mod:`bot.throttling.budget_leases`), and to a conversation only
  after writing the send into the conversation's send log (:mod:`bot.throttling.send_logs`);
* what 429 answers said: the answering conversation is blocked for the whole ``Retry-After``;
  its tenant for at most ``tenant_block_cap_seconds``, in this process and, through a shared
  record in Cosmos DB read before sending (:mod:`bot.throttling.store`), in every instance.

How a permit is granted:

1. Sends to one conversation take turns (a FIFO lock): several activities to one conversation
   keep their order. Holding the turn, the send waits until the conversation's windows and
   every block allow it.
2. Then it takes its tenant's turn (FIFO again, so a busy tenant serves its sends first come,
   first served, without a thundering herd) and waits until the tenant's windows allow it.
   Waiting for its own conversation first means a conversation at its limit never holds back
   the rest of its tenant.
3. A send that would have to wait longer than ``max_wait_seconds`` is not slept on: it is
   refused with :class:`RateLimitedError` and a ``retry_after``, and counts nothing. The queue
   re-enqueues it with that visibility delay; the HTTP API answers 429.

Everything runs on the process's event loop, so nothing between two awaits interleaves with
another send.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.channel_limits import ChannelLimits
from bot.process_client import ProcessClient
from bot.schema import ConversationReference
from bot.throttling.budget_leases import BudgetLeases, LeasedBudget
from bot.throttling.config import GovernorConfig, load_governor_config
from bot.throttling.send_logs import SLOW_WRITE_SECONDS, Send, SendLog, SendLogs
from bot.throttling.sliding_log import WindowLimiter
from bot.throttling.store import ThrottleRecords

logger = logging.getLogger(__name__)

ANSWER_POLL_SECONDS = 0.05
"""How often a send waiting for this instance's own sends to a conversation to be answered
looks again."""
SATURATED_RETRY_SECONDS = 1.0
"""``retry_after`` of a send refused while the window was full of sends in flight (when they
will be answered is unknown)."""


@dataclass(frozen=True)
class SendKey:
    """What a send is counted against.

    Attributes:
        channel_id: The channel.
        tenant_id: The tenant (``""`` when the channel has none or it is unknown).
        conversation_id: The conversation; ``None`` for requests that count only against the
            tenant (creating a conversation).
    """

    channel_id: str
    tenant_id: str = ""
    conversation_id: str | None = None

    @classmethod
    def of(cls, reference: ConversationReference) -> SendKey:
        """The key of a send to a conversation reference."""
        conversation = reference.conversation
        return cls(
            reference.channel_id or "",
            (conversation.tenant_id if conversation is not None else None) or "",
            (conversation.id if conversation is not None else None) or None,
        )


class RateLimitedError(Exception):
    """A send would have to wait longer than allowed: try it again later.

    Attributes:
        retry_after: Seconds until it would have been allowed (an estimate: other sends may
            take the slot meanwhile).
    """

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"the channel's rate limit is reached; try again in {retry_after:.1f} s")
        self.retry_after = retry_after


@dataclass
class GovernorStats:
    """What the governor did (instrumentation for tests and benchmarks)."""

    granted: int = 0
    waited: int = 0
    """Permits that had to wait in process."""
    wait_seconds: float = 0.0
    deferred: int = 0
    """Sends refused because they would have waited too long."""
    throttled: int = 0
    """429 answers reported."""


class Permit:
    """A granted send, counted in every scope until it is ended.

    Attributes:
        waited: The seconds the permit waited for.
    """

    def __init__(
        self,
        waited: float,
        finish: Callable[[bool], None],
        fresh: Callable[[], bool] = lambda: True,
    ) -> None:
        self.waited = waited
        self._finish: Callable[[bool], None] | None = finish
        self._fresh = fresh

    @property
    def fresh(self) -> bool:
        """Whether the request may still go on this permit: a conversation's send log
        counts it as reaching the channel within a second of its grant, so a permit held
        longer than half that (a slow ledger write between permit and request) is not used."""
        return self._finish is not None and self._fresh()

    @property
    def ended(self) -> bool:
        """Whether the permit was released or given back."""
        return self._finish is None

    def release(self) -> None:
        """The request was answered (or failed): it counts from now on as sent now."""
        self._end(used=True)

    def give_back(self) -> None:
        """The request was not made after all: it counts nothing (a reservation unused)."""
        self._end(used=False)

    def _end(self, *, used: bool) -> None:
        finish, self._finish = self._finish, None
        if finish is not None:
            finish(used)


@dataclass
class _ChannelState:
    limits: ChannelLimits
    conversations: WindowLimiter | None
    tenants: WindowLimiter | None


@dataclass
class _Turn:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


def _utc_now() -> datetime:
    return datetime.now(UTC)


class RateGovernor:
    """Grants sends permits so that no channel limit is ever exceeded.

    Args:
        config: Limits and bounds; from the settings when omitted.
        records: The shared throttle records (the composition root hands in the Cosmos DB
            ones); without them 429 answers slow down this process only.
        shared: Whether to read and write ``records`` at all.
        clock: Monotonic seconds.
        wall_clock: The current UTC time (the shared records hold wall-clock times).
        sleep: Waits a number of seconds (tests make time pass instantly).
        leases: Shares of every tenant's budget leased across instances; without them the
            tenant windows hold for this process only.
        logs: Every conversation's sends shared across instances; without them the
            conversation windows hold for this process only.
    """

    def __init__(
        self,
        config: GovernorConfig | None = None,
        *,
        records: ThrottleRecords | None = None,
        shared: bool = True,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = _utc_now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        leases: BudgetLeases | None = None,
        logs: SendLogs | None = None,
    ) -> None:
        self.config = config if config is not None else load_governor_config()
        self._records = records if shared else None
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._channels: dict[str, _ChannelState] = {}
        self._turns: dict[Hashable, _Turn] = {}
        self._answered: dict[Hashable, asyncio.Event] = {}
        self._blocked: dict[Hashable, float] = {}
        self._leases = leases
        self._logs = logs
        self.stats = GovernorStats()

    @property
    def leases(self) -> BudgetLeases | None:
        """The tenant budgets' shares this instance leases (``None``: windows per process)."""
        return self._leases

    @contextlib.asynccontextmanager
    async def permit(self, key: SendKey, *, max_wait: float | None = None) -> AsyncIterator[float]:
        """Hold a permit for one request: enter right before sending, leave once answered.

        Args:
            key: The send's channel, tenant and conversation.
            max_wait: The longest to wait in process; ``max_wait_seconds`` when omitted.

        Yields:
            The seconds waited.

        Raises:
            RateLimitedError: The send would have to wait longer; nothing was counted.
        """
        held = await self.reserve(key, max_wait=max_wait)
        try:
            yield held.waited
        finally:
            held.release()

    async def reserve(self, key: SendKey, *, max_wait: float | None = None) -> Permit:
        """Take a permit for one request and hold it until :meth:`Permit.release` (the
        request was answered or failed) or :meth:`Permit.give_back` (it was not sent after
        all: it counts nothing).

        Raises:
            RateLimitedError: The send would have to wait longer; nothing was counted.
        """
        return await self._acquire(key, max_wait)

    async def throttled(self, key: SendKey, retry_after: float | None) -> None:
        """Report a 429 answer: block the conversation for ``retry_after`` and the tenant
        (here and, through the shared record, in every instance) for at most the channel's
        ``tenant_block_cap_seconds``.

        Args:
            key: The send that was answered 429.
            retry_after: The answer's ``Retry-After`` in seconds (1 s when it had none).
        """
        self.stats.throttled += 1
        if not self.config.enabled:
            return
        seconds = retry_after if retry_after is not None and math.isfinite(retry_after) else 1.0
        seconds = max(seconds, 0.0)
        now = self._clock()
        if key.conversation_id:
            self._extend_block(_conversation_scope(key), now + seconds)
        tenant_seconds = min(seconds, self._channel(key.channel_id).limits.tenant_block_cap_seconds)
        if tenant_seconds <= 0:
            return
        self._extend_block(_tenant_scope(key), now + tenant_seconds)
        if self._records is not None:
            until = self._wall_clock() + timedelta(seconds=tenant_seconds)
            await self._records.record(key.channel_id, key.tenant_id, until)

    async def _acquire(self, key: SendKey, max_wait: float | None) -> Permit:
        """Wait for the send's turn and windows; the permit counts it in every scope."""
        config = self.config
        if not config.enabled:
            self.stats.granted += 1
            return Permit(0.0, _nothing)
        started = self._clock()
        deadline = started + (config.max_wait_seconds if max_wait is None else max_wait)
        channel = self._channel(key.channel_id)
        tenant_scope = _tenant_scope(key)
        conversation_scope = _conversation_scope(key) if key.conversation_id else None
        shared = await self._shared_block(key)
        waits = 0
        budgets: list[LeasedBudget] = []
        log: SendLog | None = None
        async with self._turn(conversation_scope):
            floor = max(shared, self._block(tenant_scope), self._block(conversation_scope))
            if conversation_scope is not None and channel.conversations is not None:
                waits += await self._wait(
                    channel.conversations, conversation_scope, floor, deadline
                )
                if self._logs is not None:
                    log = self._logs.log(
                        conversation_scope,
                        (key.channel_id, key.tenant_id, key.conversation_id or ""),
                        channel.limits.conversation,
                    )
                    if log is not None:
                        waits += await self._wait_logged(log, deadline)
            elif floor > self._clock():
                waits += await self._wait(None, None, floor, deadline)
            async with self._turn(tenant_scope):
                if channel.tenants is not None:
                    waits += await self._wait(channel.tenants, tenant_scope, 0.0, deadline)
                    if self._leases is not None:
                        budget = self._leases.budget(
                            tenant_scope, (key.channel_id, key.tenant_id), channel.limits.tenant
                        )
                        waits += await self._wait_leased(budget, deadline)
                        budgets.append(budget)
                    channel.tenants.begin(tenant_scope)
                if conversation_scope is not None and channel.conversations is not None:
                    channel.conversations.begin(conversation_scope)
                now = self._clock()
                for budget in budgets:
                    budget.begin(now)
            scopes = (
                conversation_scope if channel.conversations is not None else None,
                tenant_scope if channel.tenants is not None else None,
            )
            send: Send | None = None
            if log is not None:
                # Written with the tenant's turn let go: the tenant's other sends do not wait
                # for this write (this one counts in the tenant as in flight meanwhile).
                try:
                    send, slept = await self._append_logged(log, deadline)
                except BaseException:
                    self._finish(key, scopes, budgets, None, None, used=False)
                    raise
                waits += slept
        self.stats.granted += 1
        waited = self._clock() - started if waits else 0.0
        if waits:
            self.stats.waited += 1
            self.stats.wait_seconds += waited
        finish = functools.partial(self._finish, key, scopes, budgets, log, send)
        return Permit(
            waited, lambda used: finish(used=used), functools.partial(_fresh, send, self._logs)
        )

    def _finish(
        self,
        key: SendKey,
        scopes: tuple[Hashable | None, Hashable | None],
        budgets: list[LeasedBudget],
        log: SendLog | None,
        send: Send | None,
        *,
        used: bool,
    ) -> None:
        """End a permit: a send answered now (``used``), or one never made."""
        channel = self._channels.get(key.channel_id)
        now = self._clock()
        if channel is not None:
            for limiter, scope in zip(
                (channel.conversations, channel.tenants), scopes, strict=True
            ):
                if limiter is None or scope is None:
                    continue
                if used:
                    limiter.end(scope, now)
                else:
                    limiter.cancel(scope)
                event = self._answered.get(scope)
                if event is not None:
                    event.set()
        for budget in budgets:
            if used:
                budget.end(now)
            else:
                budget.cancel()
        if log is not None and send is not None and self._logs is not None:
            if used:
                send.answered = self._logs.now()
            else:
                log.cancel(send)

    async def _wait_logged(self, log: SendLog, deadline: float) -> int:
        """Wait until the conversation's shared log, as last seen, has room for one more
        send; returns how often it slept. A log never seen here is not read: the append
        creates it, and only when that conflicts is it read (a broadcast's conversation
        costs one write).

        Raises:
            RateLimitedError: That is after ``deadline``.
        """
        assert self._logs is not None
        slept = 0
        while True:
            wall = self._logs.now()
            ready = log.earliest(wall, self.config.margin_seconds)
            if ready is not None and ready <= wall:
                return slept
            now = self._clock()
            # Only this instance's own sends in flight fill it: they are answered soon.
            wake = now + (ready - wall if ready is not None else ANSWER_POLL_SECONDS)
            if wake > deadline:
                raise self._deferred(ready - wall if ready is not None else SATURATED_RETRY_SECONDS)
            await self._sleep(wake - now)
            slept += 1

    async def _append_logged(self, log: SendLog, deadline: float) -> tuple[Send, int]:
        """Write this send into the conversation's shared log; when another instance wrote
        first, check the log again (waiting for room until ``deadline``).

        Raises:
            RateLimitedError: No room in time, or Cosmos DB could not be written (fail
                closed: the windows are never exceeded for want of the log).
        """
        assert self._logs is not None
        slept = 0
        while True:
            try:
                send = await self._logs.append(log)
            except Exception as error:
                logger.warning("send log: could not write (%s)", type(error).__name__)
                raise self._deferred(SATURATED_RETRY_SECONDS) from None
            if send is not None:
                if self._logs.now() - send.at <= SLOW_WRITE_SECONDS:
                    return send, slept
                # Too slow a write: the request might reach the channel later than the others
                # count it. Leave the entry (it only counts against the log) and try again.
                send.answered = self._logs.now()
                if self._clock() >= deadline:
                    raise self._deferred(SATURATED_RETRY_SECONDS)
            slept += await self._wait_logged(log, deadline)

    async def _wait_leased(self, budget: LeasedBudget, deadline: float) -> int:
        """Wait until this instance's shares of ``budget`` allow one more send, taking more
        shares while it would have to wait; returns how often it slept.

        Raises:
            RateLimitedError: That is after ``deadline``.
        """
        assert self._leases is not None
        margin = self.config.margin_seconds
        slept = 0
        while True:
            now = self._clock()
            self._leases.maintain(budget)
            ready = budget.earliest(now, margin)
            if ready is not None and ready <= now:
                return slept
            if await self._leases.take_share(budget):
                continue
            now = self._clock()
            wake = budget.next_attempt if ready is None else min(ready, budget.next_attempt)
            wake = max(wake, now)
            if wake > deadline:
                if ready is not None:
                    raise self._deferred(max(ready - now, 0.0))
                # Held elsewhere: come back when the other instance's lease may have lapsed.
                free_in = None if budget.held else budget.free_in(self._wall_clock())
                raise self._deferred(max(free_in or 0.0, SATURATED_RETRY_SECONDS))
            await self._sleep(wake - now)
            slept += 1

    async def _wait(
        self,
        limiter: WindowLimiter | None,
        scope: Hashable | None,
        floor: float,
        deadline: float,
    ) -> int:
        """Wait until ``scope`` may send (not before ``floor``); returns how often it slept.

        Raises:
            RateLimitedError: That is after ``deadline``.
        """
        slept = 0
        while True:
            now = self._clock()
            start = max(now, floor)
            ready = limiter.earliest(scope, start) if limiter is not None else start
            if ready is None:
                # Sends in flight fill a window: only an answer makes room.
                if now >= deadline:
                    raise self._deferred(SATURATED_RETRY_SECONDS)
                await self._answer(scope, deadline - now)
                slept += 1
                continue
            if ready <= now:
                return slept
            if ready > deadline:
                raise self._deferred(ready - now)
            await self._sleep(ready - now)
            slept += 1

    async def _answer(self, scope: Hashable, seconds: float) -> None:
        """Wait until a send of ``scope`` is answered, or ``seconds`` pass."""
        event = self._answered.get(scope)
        if event is None:
            event = self._answered[scope] = asyncio.Event()
        waiter = asyncio.ensure_future(event.wait())
        waiting: set[asyncio.Future[Any]] = {waiter}
        if math.isfinite(seconds):
            # The injected sleep, not asyncio.timeout: tests run this on virtual time.
            waiting.add(asyncio.ensure_future(self._sleep(seconds)))
        try:
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in waiting:
                pending.cancel()
            # Only the holder of the scope's turn waits here: the event is its alone.
            self._answered.pop(scope, None)

    def _deferred(self, retry_after: float) -> RateLimitedError:
        self.stats.deferred += 1
        return RateLimitedError(retry_after)

    def _channel(self, channel_id: str) -> _ChannelState:
        state = self._channels.get(channel_id)
        if state is None:
            limits = self.config.limits_for(channel_id)
            margin = self.config.margin_seconds
            state = self._channels[channel_id] = _ChannelState(
                limits,
                WindowLimiter(limits.conversation, margin) if limits.conversation else None,
                WindowLimiter(limits.tenant, margin) if limits.tenant else None,
            )
        return state

    async def _shared_block(self, key: SendKey) -> float:
        """The shared record's ``until`` as a monotonic time (0 when there is none)."""
        if self._records is None:
            return 0.0
        until = await self._records.until(key.channel_id, key.tenant_id)
        if until is None:
            return 0.0
        remaining = (until - self._wall_clock()).total_seconds()
        return self._clock() + remaining if remaining > 0 else 0.0

    def _block(self, scope: Hashable | None) -> float:
        if scope is None:
            return 0.0
        until = self._blocked.get(scope)
        if until is None:
            return 0.0
        if until <= self._clock():
            del self._blocked[scope]
            return 0.0
        return until

    def _extend_block(self, scope: Hashable, until: float) -> None:
        if until > self._blocked.get(scope, 0.0):
            self._blocked[scope] = until
        if len(self._blocked) > 4096:
            now = self._clock()
            for expired in [name for name, end in self._blocked.items() if end <= now]:
                del self._blocked[expired]

    @contextlib.asynccontextmanager
    async def _turn(self, scope: Hashable | None) -> AsyncIterator[None]:
        if scope is None:
            yield
            return
        turn = self._turns.get(scope)
        if turn is None:
            turn = self._turns[scope] = _Turn()
        turn.users += 1
        try:
            async with turn.lock:
                yield
        finally:
            turn.users -= 1
            if turn.users == 0:
                del self._turns[scope]


def _tenant_scope(key: SendKey) -> Hashable:
    return ("tenant", key.channel_id, key.tenant_id)


def _conversation_scope(key: SendKey) -> Hashable:
    return ("conversation", key.channel_id, key.tenant_id, key.conversation_id)


def _fresh(send: Send | None, logs: SendLogs | None) -> bool:
    return send is None or logs is None or logs.now() - send.at <= SLOW_WRITE_SECONDS


def _nothing(used: bool) -> None:
    del used


SLOT = "bot.throttling.governor.rate_governor"

rate_governor: ProcessClient[RateGovernor] = ProcessClient.slot(SLOT)
"""The slot of the process-wide governor: ``rate_governor.get()``.

Every Connector request waits on it (:mod:`bot.throttling.sender`); the composition root
(:mod:`bot.app`) provides its factory by the slot's name, without importing this module, so a
cold start that sends nothing through the governor does not load it.
"""
