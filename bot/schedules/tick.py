"""The schedule tick: on every ``SCHEDULE_TIMER`` run, send what is due, each occurrence once.

A tick reads only the due documents (:data:`bot.schedules.store.DUE_QUERY`, a range query on
indexed paths, paged), and for each:

1. **recover**: if it holds a *pending* occurrence whose ``retryAt`` has passed (a tick claimed
   it and did not confirm it), enqueue that occurrence's stored message again and confirm it;
2. **claim**: if its ``nextRunAt`` is due, decide the occurrence (the latest due one; the
   misfire policy says whether it is sent, :mod:`bot.schedules.occurrences`), and write, on the
   ``_etag`` just read, ``nextRunAt`` = the next occurrence, ``lastRunAt``, ``runCount`` + 1
   and ``pending`` = {the occurrence, its message, ``retryAt`` = now + the claim lease};
3. **enqueue** the message: docs/queue-message.md, ``id`` = ``schedule:<id>:<occurrence>``;
4. **confirm**: remove ``pending`` (again on the ``_etag``; re-read and retry on a conflict).

Why each occurrence is sent exactly once
----------------------------------------
*At most once.* A claim is a replace conditioned on the ``_etag`` the tick read, and it moves
``nextRunAt`` past the occurrence. Every successful write changes the ``_etag``, so of any
number of ticks that read the document while the occurrence was due, exactly one claim
succeeds; the others get 412 and leave the document alone, and no later read sees the
occurrence due again. So each occurrence is claimed once. Its message is then enqueued by the
claimer, and again by a recovering tick only if the claimer did not confirm it before
``retryAt``. All those copies are the one message stored with the claim, with the id derived
from schedule and occurrence, and the proactive sender's idempotency ledger sends the
activities of an id at most once however many copies arrive, in parallel or not. Messages
expire a day after their occurrence, well within the ledger's seven-day memory of an id.

*At least once.* The claim stores the occurrence (and its exact message) in ``pending`` in the
same atomic write that advances ``nextRunAt``, and ``pending`` is removed only after the
message was enqueued. A tick can die anywhere: before the claim, nothing changed and the next
tick sees the occurrence still due; after the claim (before or after the enqueue), the
document keeps ``pending`` and the due query returns it once ``retryAt`` passes, so a later
tick enqueues it. A pending occurrence blocks the schedule's next claim (the claim would
overwrite it) until it is confirmed.

Overlapping ticks therefore cost at most a 412 each; a dead tick delays its occurrences by
the claim lease. Changing a schedule through the API keeps ``pending``; deleting it drops an
unconfirmed occurrence with it.

A tick with more due documents than its time budget allows processes whole pages until the
budget is spent (at least one page, so every tick makes progress) and leaves the rest due for
the next tick.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.cron import CronExpression
from bot.proactive.message import ProactiveMessage, parse_message
from bot.schedules.documents import (
    Pending,
    claimed_document,
    confirmed_document,
    missed_document,
    plan_due,
    plan_tick,
    schedule_of,
)
from bot.schedules.messages import enqueue_message, occurrence_message
from bot.schedules.occurrences import Firing
from bot.schedules.store import ScheduleStore
from bot.settings import get_settings

logger = logging.getLogger(__name__)

Enqueue = Callable[[ProactiveMessage], Awaitable[None]]
"""Puts a message on the proactive queue."""

DEFAULT_PAGE_SIZE = 100
DEFAULT_CONCURRENCY = 16
DEFAULT_CLAIM_LEASE = timedelta(minutes=2)
"""How long a claimer has to enqueue and confirm before another tick does it for it; longer
than a document's processing may take (:data:`DEFAULT_ITEM_TIMEOUT_SECONDS`)."""
DEFAULT_ITEM_TIMEOUT_SECONDS = 30.0
CONFIRM_ATTEMPTS = 5
MIN_BUDGET = timedelta(milliseconds=500)
MAX_BUDGET = timedelta(minutes=4)
MIN_TOLERANCE = timedelta(minutes=1)


@dataclass(frozen=True)
class TickTiming:
    """How long a tick may work, and how late an occurrence may be and still be on time.

    Attributes:
        budget: Time after which a tick fetches no further page.
        tolerance: The on-time window of misfire policies (:mod:`bot.schedules.occurrences`).
    """

    budget: timedelta
    tolerance: timedelta


def tick_timing(timer: str, now: datetime | None = None) -> TickTiming:
    """The budget and tolerance of a tick that runs on the NCRONTAB ``timer``.

    The budget is 80 % of the shortest gap between ticks (0.5 s to 4 minutes), so a tick ends
    before the next one is due; the tolerance is twice the longest gap (at least a minute): an
    occurrence just after a tick waits one period, and one more when a busy tick left it for
    the next.
    """
    cron = CronExpression.parse(timer)
    moment = now or datetime.now(UTC)
    gaps: list[timedelta] = []
    for _ in range(20):
        following = cron.next_after(moment)
        gaps.append(following - moment)
        moment = following
    budget = min(max(min(gaps[1:]) * 0.8, MIN_BUDGET), MAX_BUDGET)
    return TickTiming(budget=budget, tolerance=max(2 * max(gaps[1:]), MIN_TOLERANCE))


@dataclass
class TickReport:
    """What one tick did (counts only: no ids, no text).

    Attributes:
        pages: Due-query pages read.
        documents_read: Documents the due query returned.
        claimed: Occurrences claimed.
        enqueued: Messages enqueued for claimed occurrences.
        recovered: Pending occurrences of earlier ticks enqueued again.
        missed: Occurrences found too late to send (misfire policy).
        busy: Documents left alone because another claim of them is running.
        conflicts: Claims or writes lost to another writer (412).
        failures: Documents whose processing raised (left for a later tick).
        budget_spent: The tick stopped fetching pages because its budget was spent.
    """

    pages: int = 0
    documents_read: int = 0
    claimed: int = 0
    enqueued: int = 0
    recovered: int = 0
    missed: int = 0
    busy: int = 0
    conflicts: int = 0
    failures: int = 0
    budget_spent: bool = False


class ScheduleTicker:
    """Runs ticks over the schedules.

    Args:
        store: The schedule documents.
        enqueue: Puts a message on the proactive queue.
        page_size: Documents per due-query page.
        concurrency: Documents processed at once.
        budget: Time after which no further page is fetched (at least one page is processed).
        tolerance: The on-time window of the misfire policies.
        claim_lease: How long a claimed occurrence stays with its claimer.
        item_timeout_seconds: Longest the processing of one document may take.
        monotonic: A monotonic clock in seconds (the budget is measured with it).
    """

    def __init__(
        self,
        store: ScheduleStore,
        enqueue: Enqueue = enqueue_message,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        concurrency: int = DEFAULT_CONCURRENCY,
        budget: timedelta = timedelta(seconds=40),
        tolerance: timedelta = timedelta(minutes=2),
        claim_lease: timedelta = DEFAULT_CLAIM_LEASE,
        item_timeout_seconds: float = DEFAULT_ITEM_TIMEOUT_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if page_size < 1 or concurrency < 1:
            raise ValueError("page_size and concurrency must be at least 1")
        self.store = store
        self._enqueue = enqueue
        self._page_size = page_size
        self._concurrency = concurrency
        self._budget = budget
        self._tolerance = tolerance
        self._claim_lease = claim_lease
        self._item_timeout = item_timeout_seconds
        self._monotonic = monotonic

    async def tick(self, now: datetime | None = None) -> TickReport:
        """Send every occurrence due at ``now`` (default: the current time) that fits the budget.

        Returns:
            What was done.
        """
        moment = now or datetime.now(UTC)
        started = self._monotonic()
        report = TickReport()
        limit = asyncio.Semaphore(self._concurrency)

        async def bounded(document: dict[str, Any]) -> None:
            async with limit:
                await self._process_safely(document, moment, started, report)

        pages = self.store.due_pages(moment, self._page_size)
        try:
            async for page in pages:
                report.pages += 1
                report.documents_read += len(page)
                await asyncio.gather(*(bounded(document) for document in page))
                if self._monotonic() - started >= self._budget.total_seconds():
                    report.budget_spent = True
                    break
        finally:
            await pages.aclose()
        return report

    async def _process_safely(
        self, document: dict[str, Any], now: datetime, started: float, report: TickReport
    ) -> None:
        try:
            async with asyncio.timeout(self._item_timeout):
                await self._process(document, now, started, report)
        except Exception as error:  # one schedule's failure must not stop the others
            report.failures += 1
            logger.warning(
                "schedule tick: schedule %s failed: %s", document.get("id"), type(error).__name__
            )
            logger.debug("schedule tick failure detail", exc_info=True)

    async def _process(
        self, document: dict[str, Any], now: datetime, started: float, report: TickReport
    ) -> None:
        plan = plan_tick(document, now, self._tolerance)
        if plan.recover is None and plan.firing is None:
            if Pending.of(document) is not None:
                report.busy += 1
            return
        current = document
        firing = plan.firing
        if plan.recover is not None:
            confirmed = await self._recover(document, plan.recover, now, report)
            if confirmed is None:
                return
            current = confirmed
            firing = plan_due(current, now, self._tolerance)
        if firing is not None:
            await self._fire(current, firing, now, started, report)

    async def _recover(
        self, document: dict[str, Any], pending: Pending, now: datetime, report: TickReport
    ) -> dict[str, Any] | None:
        message = parse_message(pending.message)
        if message.expires_at is None or message.expires_at > now:
            await self._enqueue(message)
            report.recovered += 1
        return await self._confirm(document, pending.message_id)

    async def _fire(
        self,
        document: dict[str, Any],
        firing: Firing,
        now: datetime,
        started: float,
        report: TickReport,
    ) -> None:
        if not firing.send:
            if await self.store.replace(missed_document(document, firing), document["_etag"]):
                report.missed += 1
            else:
                report.conflicts += 1
            return
        message = occurrence_message(schedule_of(document), firing.latest)
        elapsed = timedelta(seconds=self._monotonic() - started)
        claim = claimed_document(
            document, firing, message, now=now, retry_at=now + elapsed + self._claim_lease
        )
        claimed = await self.store.replace(claim, document["_etag"])
        if claimed is None:
            report.conflicts += 1
            return
        report.claimed += 1
        await self._enqueue(message)
        report.enqueued += 1
        await self._confirm(claimed, message.id)

    async def _confirm(self, document: Mapping[str, Any], message_id: str) -> dict[str, Any] | None:
        """Remove the pending occurrence ``message_id``; the document after, ``None`` if gone."""
        current: dict[str, Any] | None = dict(document)
        for _ in range(CONFIRM_ATTEMPTS):
            if current is None:
                return None
            body = confirmed_document(current, message_id)
            if body is None:
                return current
            written = await self.store.replace(body, current["_etag"])
            if written is not None:
                return written
            current = await self.store.read(str(document["id"]))
        # Still pending: a later tick re-enqueues it (same id) and confirms it.
        return None


async def run_tick(store: ScheduleStore, now: datetime | None = None) -> TickReport:
    """One tick over ``store`` with the process's settings (``SCHEDULE_TIMER`` sets its budget).

    The timer trigger runs it through :func:`bot.app.run_schedule_tick`, with the process's
    schedule store.
    """
    timing = tick_timing(get_settings().schedule_timer, now)
    ticker = ScheduleTicker(store, budget=timing.budget, tolerance=timing.tolerance)
    report = await ticker.tick(now)
    if report.claimed or report.recovered or report.missed or report.failures:
        logger.info("schedule tick: %s", report)
    return report
