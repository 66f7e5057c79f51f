"""Budget leases: a tenant's rate budget shared by every instance.

Each instance governs its own sends (:mod:`bot.throttling.governor`), but the channel counts
the whole app's sends. So a tenant's budget (Teams: 50/s) is cut into ``THROTTLE_TENANT_SHARES``
*shares*, each a lease document in Cosmos DB (container ``throttles``). (A conversation's
budget is too small to cut: its sends are shared through a log instead,
:mod:`bot.throttling.send_logs`.) An instance may send in a scope only as much as
the shares it holds allow, checked with the same in-flight-then-answered sliding count as the
process's own windows; an instance with no share takes one (a point read and a create or
replace with an etag: a conflict means another instance has it) when it has a send waiting.

Why the instances together never exceed a window of ``S`` seconds: an instance's sends in any
window number at most the slices it held at its last grant in that window (the sliding check),
and a share changes hands only ``hold`` (the longest window, see below) after its previous
holder stopped using it, so no share is counted by two instances inside one window. Shares'
slices sum to the limit. See docs/rate-limits.md.

Busy instances even out: one that would wait writes its *want* into a share held by an
instance with at least two more shares; that owner's next renewal meets the changed etag, reads
the want and gives the share up (it stops granting on it, ends the lease a guard later and
reserves it for the waiter), which is a lapse brought forward, so the same argument holds.

Costs: nothing per send while a share is held; a lease is renewed (one replace) every half
lease while it is used, and an unused share simply lapses. Taking a share never seen costs one
create (a conflict adds a point read); taking one seen before, a point read and a replace.
A dead instance's shares are free again after ``lease_seconds + hold``. When Cosmos DB cannot
be reached, an instance keeps sending on the shares it holds until they expire and then defers
its sends (they go back to the queue): the limit is never exceeded for want of the shared
record.

A document::

    {"id": "v1-<hmac of channel, tenant, conversation, share>", "kind": "budgetShare",
     "owner": "<instance>", "holds": 4, "expiresAt": "2026-...Z", "ttl": 3610,
     "wantedBy": "<instance>", "wantedAt": "2026-...Z", "wantedHolds": 1}

and, given up: ``{"owner": "", "holds": 0, "expiresAt": <now + guard>, "reservedFor": ...}``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
import uuid
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.channel_limits import Window
from bot.storage.containers import THROTTLES
from bot.storage.cosmos import container as named_container
from bot.storage.keys import storage_id
from bot.storage.timestamps import from_timestamp, to_timestamp

if TYPE_CHECKING:
    from azure.cosmos.aio import ContainerProxy

logger = logging.getLogger(__name__)

SHARE_KIND = "budgetShare"
ACQUIRE_RETRY_SECONDS = 0.25
"""How often an instance that found no free share looks again (per scope)."""
PROBES_PER_ATTEMPT = 2
"""Shares read per attempt: taking a share stays cheap while the others are held."""
GUARD_SECONDS = 1.0
"""A share is no longer used this long before its lease ends: a request granted on it must
reach the channel before another instance may take it (added to the hold as well)."""


@dataclass(frozen=True)
class Want:
    """An instance waiting for shares, as written into a share another instance holds.

    Attributes:
        instance: The waiting instance.
        at: When it wrote this (wall clock).
        holds: How many of the budget's shares it held then.
    """

    instance: str
    at: datetime
    holds: int


def share_slice(limit: int, shares: int, index: int) -> int:
    """The part of ``limit`` that share ``index`` of ``shares`` carries (they sum to it)."""
    return limit // shares + (1 if index < limit % shares else 0)


@dataclass
class _Held:
    etag: str
    expires: datetime
    usable_until: float
    """Monotonic time after which the share must not be used."""
    renewing: bool = False
    used: bool = False
    """Whether a send was granted on it since it was last leased."""


@dataclass
class LeasedBudget:
    """One scope's budget as this instance holds it: its shares and its sends.

    Attributes:
        parts: The scope's document id parts (channel, tenant).
        windows: The scope's windows (the whole app's budget).
        shares: How many shares the budget is cut into.
        hold: Seconds a share stays unused after its lease ends (the longest window).
    """

    parts: tuple[str, ...]
    windows: tuple[Window, ...]
    shares: int
    hold: float
    held: dict[int, _Held] = field(default_factory=dict)
    given: dict[str, datetime] = field(default_factory=dict)
    """Per waiting instance, when this instance last released a share for it."""
    taken_until: dict[int, datetime] = field(default_factory=dict)
    probed: set[int] = field(default_factory=set)
    answers: deque[float] = field(default_factory=deque)
    in_flight: int = 0
    next_attempt: float = 0.0

    def limits(self, now: float) -> list[int]:
        """Per window, what the shares that may grant a send at ``now`` allow."""
        for index in [i for i, held in self.held.items() if held.usable_until <= now]:
            del self.held[index]
        return [
            sum(share_slice(window.limit, self.shares, index) for index in self.held)
            for window in self.windows
        ]

    def earliest(self, now: float, margin: float) -> float | None:
        """When one more send fits the held shares; ``None`` when only more shares (or an
        answer) can make room."""
        horizon = max(window.seconds for window in self.windows) + margin
        while self.answers and self.answers[0] + horizon <= now:
            self.answers.popleft()
        ready = now
        for limit, window in zip(self.limits(now), self.windows, strict=True):
            room = limit - self.in_flight
            if room <= 0:
                return None
            if len(self.answers) >= room:
                ready = max(ready, self.answers[-room] + window.seconds + margin)
        # Past a share's use limit, limits() no longer counts it: a send is only ever granted
        # on shares usable at that moment (the governor checks again when it wakes).
        return ready

    def gives_up(self, want: Want | None, instance: str, wall: datetime, lease: float) -> bool:
        """Whether a held share another instance wants goes to it (released at renewal).

        Only to an instance holding at least two shares fewer (so the shares even out and
        never go back and forth), only on a want written within the last lease, and at most
        one share per waiting instance until it wrote a want after it could take that one.
        """
        if want is None or want.instance == instance:
            return False
        if want.at < wall - timedelta(seconds=lease):
            return False
        given = self.given.get(want.instance)
        settled = timedelta(seconds=self.hold + 2 * GUARD_SECONDS)
        if given is not None and want.at <= given + settled:
            return False
        return len(self.held) >= want.holds + 2

    def free_in(self, wall: datetime) -> float | None:
        """Seconds until a share known to be taken by another instance may be taken."""
        waits = [(until - wall).total_seconds() for until in self.taken_until.values()]
        return max(0.0, min(waits)) if waits else None

    def begin(self, now: float) -> None:
        """A send was granted on this budget at ``now``.

        Only the shares the send needed are marked used (filled in index order, per window):
        an instance whose sends fit fewer shares lets the others lapse, for instances that
        need them.
        """
        order = sorted(self.held)
        for window in self.windows:
            recent = sum(1 for moment in self.answers if moment > now - window.seconds)
            needed = self.in_flight + recent
            for index in order:
                # Every share up to the one this send lands on is in use, not only that one:
                # an instance sending at its full slices renews them all.
                self.held[index].used = True
                needed -= share_slice(window.limit, self.shares, index)
                if needed < 0:
                    break
        self.in_flight += 1

    def cancel(self) -> None:
        """A send granted on this budget was never made."""
        self.in_flight = max(0, self.in_flight - 1)

    def end(self, now: float) -> None:
        """A send was answered at ``now``."""
        self.in_flight = max(0, self.in_flight - 1)
        if not self.answers or now >= self.answers[-1]:
            self.answers.append(now)


LeaseContainer = Callable[[], "ContainerProxy"]


class BudgetLeases:
    """Takes and renews this instance's shares of scopes' budgets.

    Args:
        lease_seconds: How long a share is leased; renewed at half-time while in use.
        tenant_shares: Into how many shares a tenant's budget is cut.
        container: Returns the ``throttles`` container; the process-wide one when omitted.
        instance_id: This instance's name in the leases; a random one when omitted.
        clock: Monotonic seconds.
        wall_clock: The current UTC time (leases hold wall-clock times).
    """

    def __init__(
        self,
        *,
        lease_seconds: float = 10.0,
        tenant_shares: int = 10,
        container: LeaseContainer | None = None,
        instance_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not lease_seconds > 2 * GUARD_SECONDS or not math.isfinite(lease_seconds):
            raise ValueError(f"lease_seconds must be finite and more than {2 * GUARD_SECONDS}")
        if tenant_shares < 1:
            raise ValueError("tenant_shares must be at least 1")
        self.lease_seconds = lease_seconds
        self.tenant_shares = tenant_shares
        self.instance_id = instance_id or uuid.uuid4().hex
        self._container = container or _throttles_container
        self._clock = clock
        self._wall_clock = wall_clock
        self._budgets: dict[Hashable, LeasedBudget] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.operations: dict[str, int] = {"read": 0, "create": 0, "replace": 0}
        """Cosmos DB calls made (instrumentation for tests and the cost model)."""

    def budget(
        self, scope: Hashable, parts: Sequence[str], windows: Sequence[Window]
    ) -> LeasedBudget:
        """The tenant scope's budget (created on first use)."""
        budget = self._budgets.get(scope)
        if budget is None:
            windows = tuple(windows)
            shares = min(self.tenant_shares, *(w.limit for w in windows))
            # A share changes hands only after the tenant's longest window (1 s): no share
            # counts for two instances inside one window (docs/rate-limits.md).
            hold = max(window.seconds for window in windows)
            budget = self._budgets[scope] = LeasedBudget(tuple(parts), windows, shares, hold)
            if len(self._budgets) > 4096:
                self._forget_idle()
        return budget

    def shares_held(self, scope: Hashable) -> int:
        """How many shares of the scope's budget this instance holds now (instrumentation)."""
        budget = self._budgets.get(scope)
        if budget is None:
            return 0
        budget.limits(self._clock())  # drops the shares past their use limit
        return len(budget.held)

    def maintain(self, budget: LeasedBudget) -> None:
        """Renew, in the background, the budget's shares past half their lease that were used
        since; unused shares lapse and go back to the pool (an instance that only waits does
        not keep shares others would use)."""
        now = self._clock()
        for index, held in budget.held.items():
            if held.renewing or not held.used:
                continue
            if held.usable_until - now > self.lease_seconds / 2:
                continue
            held.renewing = True
            task = asyncio.get_running_loop().create_task(self._renew(budget, index, held))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def take_share(self, budget: LeasedBudget) -> bool:
        """Try to take one more share of the budget (at most :data:`PROBES_PER_ATTEMPT`
        reads); ``False`` when none was free. Never raises."""
        now = self._clock()
        if now < budget.next_attempt:
            return False
        budget.next_attempt = now + ACQUIRE_RETRY_SECONDS
        wall = self._wall_clock()
        candidates = [
            index
            for index in range(budget.shares)
            if index not in budget.held and budget.taken_until.get(index, wall) <= wall
        ]
        random.shuffle(candidates)
        for index in candidates[:PROBES_PER_ATTEMPT]:
            try:
                if await self._claim(budget, index):
                    return True
            except Exception as error:
                # Fail closed: without the shared record this instance sends only on what it
                # holds; its deferred sends go back to the queue.
                logger.warning("budget lease: could not take a share (%s)", type(error).__name__)
                return False
        return False

    async def _claim(self, budget: LeasedBudget, index: int) -> bool:
        from azure.core import MatchConditions
        from azure.cosmos.exceptions import (
            CosmosAccessConditionFailedError,
            CosmosResourceExistsError,
            CosmosResourceNotFoundError,
        )

        container = self._container()
        document_id = _share_id(budget, index)
        wall = self._wall_clock()
        if index not in budget.probed:
            # Create first: a share never seen is most often new (a broadcast's conversation),
            # and then one write is all it costs; a conflict means it exists: read it.
            budget.probed.add(index)
            try:
                self.operations["create"] += 1
                stored = await container.create_item(self._body(budget, index, wall))
            except CosmosResourceExistsError:
                pass
            else:
                budget.held[index] = self._held(budget, stored, wall)
                return True
        self.operations["read"] += 1
        try:
            existing: dict[str, Any] | None = dict(
                await container.read_item(document_id, partition_key=document_id)
            )
        except CosmosResourceNotFoundError:
            existing = None
        wall = self._wall_clock()
        if existing is not None:
            free_at = self._free_at(budget, existing, wall)
            if free_at is not None and free_at > wall:
                budget.taken_until[index] = await self._want(budget, index, existing, free_at)
                return False
        body = self._body(budget, index, wall)
        try:
            if existing is None:
                self.operations["create"] += 1
                stored = await container.create_item(body)
            else:
                self.operations["replace"] += 1
                stored = await container.replace_item(
                    document_id,
                    body,
                    etag=existing["_etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
        except (CosmosResourceExistsError, CosmosAccessConditionFailedError):
            budget.taken_until[index] = wall + timedelta(seconds=self.lease_seconds)
            return False
        budget.held[index] = self._held(budget, stored, wall)
        return True

    def _free_at(
        self, budget: LeasedBudget, document: dict[str, Any], wall: datetime
    ) -> datetime | None:
        """When this instance may take a share as stored (``None``: it is this instance's)."""
        if document.get("owner") == self.instance_id:
            return None
        expires = _expires(document) or wall + timedelta(seconds=self.lease_seconds)
        free_at = expires + timedelta(seconds=budget.hold + GUARD_SECONDS)
        reserved = document.get("reservedFor")
        if isinstance(reserved, str) and reserved and reserved != self.instance_id:
            # Given up for another instance: it has half a lease to take it first.
            free_at += timedelta(seconds=self.lease_seconds / 2)
        return free_at

    async def _want(
        self, budget: LeasedBudget, index: int, document: dict[str, Any], free_at: datetime
    ) -> datetime:
        """Ask for a share another instance holds, when it holds at least two more than this
        one (it decides at its next renewal); returns when to look at the share again."""
        from azure.core import MatchConditions

        owner_holds = document.get("holds")
        expires = _expires(document)
        holds = len(budget.held)
        if (
            not document.get("owner")
            or expires is None
            or not isinstance(owner_holds, int)
            or owner_holds < holds + 2
        ):
            return free_at
        wall = self._wall_clock()
        want = want_of(document)
        if (
            want is None
            or want.at < wall - timedelta(seconds=self.lease_seconds / 2)
            or (want.instance == self.instance_id and want.holds != holds)
            or (want.instance != self.instance_id and want.holds > holds)
        ):
            body = {name: value for name, value in document.items() if not name.startswith("_")}
            body.update(wantedBy=self.instance_id, wantedAt=to_timestamp(wall), wantedHolds=holds)
            document_id = _share_id(budget, index)
            try:
                self.operations["replace"] += 1
                await self._container().replace_item(
                    document_id,
                    body,
                    etag=document["_etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
            except Exception as error:
                # Another instance wrote first (its want, or the holder's renewal): the share
                # is looked at again below all the same.
                logger.debug("budget lease: want not written (%s)", type(error).__name__)
        # The holder renews (and decides) half a lease and a guard before its lease ends; a
        # share given up then is free the guard, the hold and the guard later.
        decided = max(wall, expires - timedelta(seconds=self.lease_seconds / 2 + GUARD_SECONDS))
        return min(free_at, decided + timedelta(seconds=budget.hold + 2 * GUARD_SECONDS + 0.1))

    async def _renew(self, budget: LeasedBudget, index: int, held: _Held) -> None:
        from azure.core import MatchConditions
        from azure.cosmos.exceptions import CosmosAccessConditionFailedError

        container = self._container()
        document_id = _share_id(budget, index)
        wall = self._wall_clock()
        try:
            try:
                self.operations["replace"] += 1
                stored = await container.replace_item(
                    document_id,
                    self._body(budget, index, wall),
                    etag=held.etag,
                    match_condition=MatchConditions.IfNotModified,
                )
            except CosmosAccessConditionFailedError:
                # Another instance wrote its want into the share: read it, then give the
                # share up or renew it on what was read.
                self.operations["read"] += 1
                current = dict(await container.read_item(document_id, partition_key=document_id))
                if current.get("owner") != self.instance_id:
                    raise
                wall = self._wall_clock()
                want = want_of(current)
                if want is not None and budget.gives_up(
                    want, self.instance_id, wall, self.lease_seconds
                ):
                    await self._release(budget, index, held, current, want)
                    return
                self.operations["replace"] += 1
                stored = await container.replace_item(
                    document_id,
                    self._body(budget, index, wall),
                    etag=current["_etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
        except Exception as error:
            # The share stays usable until its current lease ends, then lapses.
            logger.warning("budget lease: could not renew a share (%s)", type(error).__name__)
            held.renewing = False
            return
        if budget.held.get(index) is held:
            budget.held[index] = self._held(budget, stored, wall)

    async def _release(
        self,
        budget: LeasedBudget,
        index: int,
        held: _Held,
        current: dict[str, Any],
        want: Want,
    ) -> None:
        """Give a held share up for the instance that wants it: no send is granted on it
        from now on, and its lease ends a guard from now, as if it had lapsed then
        (docs/rate-limits.md)."""
        from azure.core import MatchConditions

        if budget.held.get(index) is held:
            del budget.held[index]
        wall = self._wall_clock()  # after the last grant on the share
        budget.given[want.instance] = wall
        ends = wall + timedelta(seconds=GUARD_SECONDS)
        budget.taken_until[index] = ends + timedelta(
            seconds=budget.hold + GUARD_SECONDS + self.lease_seconds / 2
        )
        body = {
            "id": current["id"],
            "kind": SHARE_KIND,
            "owner": "",
            "holds": 0,
            "expiresAt": to_timestamp(ends),
            "reservedFor": want.instance,
            "ttl": math.ceil(self.lease_seconds) + 3600,
        }
        # A failed write leaves the lease as it was: the share lapses at its end instead.
        self.operations["replace"] += 1
        await self._container().replace_item(
            current["id"],
            body,
            etag=current["_etag"],
            match_condition=MatchConditions.IfNotModified,
        )

    def _body(self, budget: LeasedBudget, index: int, wall: datetime) -> dict[str, Any]:
        seconds = self.lease_seconds
        return {
            "id": _share_id(budget, index),
            "kind": SHARE_KIND,
            "owner": self.instance_id,
            # What waiting instances compare their own count with before they ask for it.
            "holds": len(budget.held) + (0 if index in budget.held else 1),
            "expiresAt": to_timestamp(wall + timedelta(seconds=seconds)),
            "ttl": math.ceil(seconds) + 3600,
        }

    def _held(self, budget: LeasedBudget, stored: Any, wall: datetime) -> _Held:
        del budget
        seconds = self.lease_seconds
        expires = wall + timedelta(seconds=seconds)
        # Measured from before the write: the lease cannot be shorter here than in the record.
        usable = self._clock() + seconds - GUARD_SECONDS
        usable -= max(0.0, (self._wall_clock() - wall).total_seconds())
        return _Held(str(stored.get("_etag", "")), expires, usable)

    def _forget_idle(self) -> None:
        now = self._clock()
        for scope in [
            scope
            for scope, budget in self._budgets.items()
            if not budget.in_flight and not budget.limits(now)[0] and not budget.answers
        ]:
            del self._budgets[scope]


def _share_id(budget: LeasedBudget, index: int) -> str:
    return storage_id(SHARE_KIND, *budget.parts, str(index))


def want_of(document: dict[str, Any]) -> Want | None:
    """The want written into a share document, if any."""
    instance, at, holds = (document.get(name) for name in ("wantedBy", "wantedAt", "wantedHolds"))
    if not (isinstance(instance, str) and instance and isinstance(at, str)):
        return None
    if not isinstance(holds, int) or isinstance(holds, bool):
        return None
    try:
        return Want(instance, from_timestamp(at), holds)
    except ValueError:
        return None


def _expires(document: dict[str, Any]) -> datetime | None:
    value = document.get("expiresAt")
    if not isinstance(value, str):
        return None
    try:
        return from_timestamp(value)
    except ValueError:
        return None


def _throttles_container() -> ContainerProxy:
    return named_container(THROTTLES.name)
