"""An :class:`~bot.turn.sender.ActivitySender` that asks the rate governor before each request.

:class:`GovernedSender` wraps the Connector sender of the proactive service, so every proactive
send (the HTTP send API, the queue sender, schedules, broadcasts), update and delete is
governed. It sends one activity per request, each after its permit, so several activities to
one conversation keep their order and the conversation's windows hold between them.

A send that would wait longer than the governor allows raises :class:`LocalThrottleError`: a
:class:`~bot.connector.errors.ConnectorError` with status 429 and ``Retry-After``, exactly
what the Connector itself would have answered a moment later. So the rest of the bot needs no
new case: the activity was certainly not sent, the delivery is retried from ``Retry-After``
(the queue re-enqueues it with that visibility delay; the HTTP API answers 429), and its
receipt says ``RateLimited``. A real 429 from the Connector is reported to the governor (which
shares it with the other instances) and raised as it came.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from dataclasses import dataclass

from bot.connector.errors import ConnectorError
from bot.schema import Activity, ConversationReference, ResourceResponse
from bot.throttling.governor import Permit, RateGovernor, RateLimitedError, SendKey, rate_governor
from bot.turn.sender import ActivitySender

RATE_LIMITED_CODE = "RateLimited"


class LocalThrottleError(ConnectorError):
    """The send was held back by the bot's own rate governor: nothing was sent.

    A 429 with ``Retry-After``; ``code`` is ``RateLimited`` (the Connector's own is
    ``Throttled``).
    """

    def __init__(self, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(
            429,
            RATE_LIMITED_CODE,
            f"the channel's rate limit for this conversation or tenant is reached; the send "
            f"was held back (try again in {seconds} s)",
            retry_after=retry_after,
            operation="rate_governor",
            transient=True,
        )


@dataclass
class _Reservation:
    key: SendKey
    permit: Permit
    used: bool = False


_reserved: ContextVar[_Reservation | None] = ContextVar("reserved_permit", default=None)


@contextlib.asynccontextmanager
async def reserved_permit(
    key: SendKey, governor: RateGovernor | None = None, *, max_wait: float | None = None
) -> AsyncIterator[None]:
    """Take the permit of the next request to ``key`` now, before work that should be done
    only when that request can go (the delivery ledger's claim): the first governed request
    to ``key`` inside the block uses it; if none does, it is given back at the end and counts
    nothing.

    Raises:
        LocalThrottleError: The request would have to wait longer than allowed; nothing
            inside the block ran.
    """
    current = governor or rate_governor.get()
    try:
        permit = await current.reserve(key, max_wait=max_wait)
    except RateLimitedError as error:
        raise LocalThrottleError(error.retry_after) from None
    token = _reserved.set(_Reservation(key, permit))
    try:
        yield
    finally:
        _reserved.reset(token)
        permit.give_back()  # nothing when the request used it


@contextlib.asynccontextmanager
async def send_permit(
    key: SendKey, governor: RateGovernor | None = None, *, max_wait: float | None = None
) -> AsyncIterator[None]:
    """Hold the governor's permit around one request: ``async with send_permit(key): ...``.

    Inside :func:`reserved_permit` for the same key, the first request uses the reserved
    permit. A 429 the request raises is reported to the governor.

    Raises:
        LocalThrottleError: The send would have to wait longer than allowed (nothing sent).
    """
    current = governor or rate_governor.get()
    reservation = _reserved.get()
    permit: Permit | None = None
    if reservation is not None and not reservation.used and reservation.key == key:
        reservation.used = True
        if reservation.permit.fresh:
            permit = reservation.permit
        else:
            # Held too long (a slow ledger write): the others count this send as arrived by
            # now; ask again rather than send late.
            reservation.permit.give_back()
    if permit is None:
        try:
            permit = await current.reserve(key, max_wait=max_wait)
        except RateLimitedError as error:
            raise LocalThrottleError(error.retry_after) from None
    try:
        yield
    except ConnectorError as error:
        if error.is_throttled and not isinstance(error, LocalThrottleError):
            await current.throttled(key, error.retry_after)
        raise
    finally:
        permit.release()


class GovernedSender:
    """Sends through ``inner``, each request after the rate governor's permit.

    Args:
        inner: The sender that talks to the Connector.
        governor: Returns the governor; the process-wide one by default.
    """

    def __init__(
        self, inner: ActivitySender, governor: Callable[[], RateGovernor] = rate_governor.get
    ) -> None:
        self._inner = inner
        self._governor = governor

    async def send_activities(
        self, reference: ConversationReference, activities: Sequence[Activity]
    ) -> list[ResourceResponse]:
        """Send the activities in order, one request each, each after its permit.

        Raises:
            LocalThrottleError: An activity would have to wait too long (the earlier ones
                were sent).
            ServiceUrlNotAllowed, TokenAcquisitionError, ConnectorError: As ``inner`` raises.
        """
        key = SendKey.of(reference)
        governor = self._governor()
        responses: list[ResourceResponse] = []
        for activity in activities:
            async with send_permit(key, governor):
                responses.extend(await self._inner.send_activities(reference, [activity]))
        return responses

    def reserve(self, reference: ConversationReference) -> AbstractAsyncContextManager[None]:
        """:func:`reserved_permit` for the next request to ``reference``'s conversation."""
        return reserved_permit(SendKey.of(reference), self._governor())

    async def update_activity(
        self, reference: ConversationReference, activity: Activity
    ) -> ResourceResponse:
        """Replace an activity, after a permit (an update counts like a send)."""
        async with send_permit(SendKey.of(reference), self._governor()):
            return await self._inner.update_activity(reference, activity)

    async def delete_activity(self, reference: ConversationReference, activity_id: str) -> None:
        """Delete an activity, after a permit (a delete counts like a send)."""
        async with send_permit(SendKey.of(reference), self._governor()):
            await self._inner.delete_activity(reference, activity_id)
