"""Injected Connector failures: a chosen status and Teams error code, N times.

A fault applies to one conversation or to all, optionally to one operation, for a number of
requests or until cleared. It can also delay the answer (alone, or before the error) or
answer a 3xx redirect. A fault may hold only for a window of time measured from when it was
set (``afterSeconds``, ``forSeconds``), so one request sets a whole outage: 503 for 10 s, then
502 for 5 s, then 504. Conversation faults are used before global ones, oldest first.

Removing or clearing a fault ends the delays it is holding at once: a long delay cleared on
cue holds requests open exactly as long as a test needs (the bot killed with POSTs in flight).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack

TEAMS_ERROR_CODES: dict[int, str] = {
    302: "Redirect",
    400: "BadArgument",
    401: "BotNotRegistered",
    403: "BotNotInConversationRoster",
    404: "ConversationNotFound",
    412: "PreconditionFailed",
    413: "MessageSizeTooBig",
    429: "Throttled",
    500: "ServiceError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
"""The default error code for a status, from the Teams "status codes" table."""

TEAMS_ERROR_MESSAGES: dict[str, str] = {
    "BadArgument": "The request has invalid arguments.",
    "BotNotRegistered": "No registration found for this bot.",
    "BotDisabledByAdmin": "The tenant admin disabled this bot.",
    "BotNotInConversationRoster": "The bot isn't part of the conversation roster.",
    "ConversationBlockedByUser": "User blocked the conversation with the bot.",
    "ForbiddenOperationException": "Bot isn't installed in user's personal scope.",
    "ConversationNotFound": "Conversation not found.",
    "ActivityNotFoundInConversation": "Activity not found in conversation.",
    "PreconditionFailed": "Conflict due to multiple concurrent operations on the conversation.",
    "MessageSizeTooBig": "Request entity too large.",
    "Throttled": "Too many requests.",
    "ServiceError": "Internal server error.",
    "BadGateway": "Bad gateway.",
    "ServiceUnavailable": "Service unavailable.",
    "GatewayTimeout": "Gateway timeout.",
}


class FaultSpec(TypedDict, total=False):
    """The settings of a fault (see :class:`Fault`), each optional: the keyword arguments of
    :meth:`FaultPlan.add` and of ``ChannelControl.set_fault``."""

    status: int | None
    code: str | None
    message: str | None
    times: int | None
    retry_after: int | None
    delay_seconds: float
    location: str | None
    conversation_id: str | None
    operation: str | None
    after_seconds: float
    for_seconds: float | None


@dataclass
class Fault:
    """One injected failure.

    Attributes:
        id: Identifies the fault in the control API.
        status: The status to answer; None to answer normally after ``delay_seconds``.
        code: The Teams error code (defaults from the status).
        message: The error message (defaults from the code).
        times: How many requests it applies to; None until cleared.
        retry_after: Seconds for a ``Retry-After`` header; None for no header.
        delay_seconds: Wait this long before answering.
        location: ``Location`` of a 3xx answer.
        conversation_id: The conversation it applies to; None for every request.
        operation: The Connector operation it applies to; None for every operation.
        after_seconds: It applies only once this long has passed since it was set.
        for_seconds: Then it applies this long at most, and is removed; None for no limit.
        set_at: When it was set (the channel's monotonic clock).
        used: How many requests it has answered.
    """

    id: str
    status: int | None = None
    code: str | None = None
    message: str | None = None
    times: int | None = 1
    retry_after: int | None = None
    delay_seconds: float = 0.0
    location: str | None = None
    conversation_id: str | None = None
    operation: str | None = None
    after_seconds: float = 0.0
    for_seconds: float | None = None
    set_at: float = 0.0
    used: int = field(default=0)
    released: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    """Set when the fault is removed or cleared: its delays end."""

    async def hold(self) -> None:
        """Wait ``delay_seconds``, or less if the fault is removed or cleared meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.released.wait(), self.delay_seconds)

    @property
    def exhausted(self) -> bool:
        """It has answered ``times`` requests."""
        return self.times is not None and self.used >= self.times

    def started(self, now: float) -> bool:
        """Its window has begun at ``now``."""
        return now - self.set_at >= self.after_seconds

    def ended(self, now: float) -> bool:
        """Its window is over at ``now``: it will never apply again."""
        return self.for_seconds is not None and (
            now - self.set_at >= self.after_seconds + self.for_seconds
        )

    def error_code(self) -> str | None:
        """The code to answer with, defaulted from the status."""
        if self.status is None:
            return None
        return self.code or TEAMS_ERROR_CODES.get(self.status, "ServiceError")

    def error_message(self) -> str:
        """The message to answer with, defaulted from the code."""
        code = self.error_code() or ""
        return self.message or TEAMS_ERROR_MESSAGES.get(code, "Injected failure.")

    def to_json(self) -> dict[str, Any]:
        """The fault, camelCase, for the control API."""
        return {
            "id": self.id,
            "status": self.status,
            "code": self.error_code(),
            "message": self.error_message() if self.status is not None else None,
            "times": self.times,
            "retryAfter": self.retry_after,
            "delaySeconds": self.delay_seconds,
            "location": self.location,
            "conversationId": self.conversation_id,
            "operation": self.operation,
            "afterSeconds": self.after_seconds,
            "forSeconds": self.for_seconds,
            "used": self.used,
        }


def _check(fault: Fault) -> None:
    """Raise ValueError when ``fault`` could never apply or answers nothing sensible."""
    status, delay_seconds = fault.status, fault.delay_seconds
    if status is not None and not 300 <= status <= 599:
        raise ValueError("status must be a 3xx, 4xx or 5xx code")
    if status is None and delay_seconds <= 0:
        raise ValueError("a fault needs a status, a delay, or both")
    if fault.times is not None and fault.times < 1:
        raise ValueError("times must be at least 1 (or null for until cleared)")
    if fault.retry_after is not None and fault.retry_after < 0:
        raise ValueError("retryAfter must not be negative")
    if not 0 <= delay_seconds <= 120:
        raise ValueError("delaySeconds must be between 0 and 120")
    if status is not None and 300 <= status < 400 and not fault.location:
        raise ValueError("a redirect needs a location")
    if not 0 <= fault.after_seconds <= 3600:
        raise ValueError("afterSeconds must be between 0 and 3600")
    if fault.for_seconds is not None and not 0 < fault.for_seconds <= 3600:
        raise ValueError("forSeconds must be more than 0 and at most 3600 (or null)")


class FaultPlan:
    """The active faults, consumed as requests arrive.

    Args:
        clock: Monotonic seconds (the faults' time windows are measured on it).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._faults: list[Fault] = []
        self._unreleased: list[Fault] = []
        """Every fault not removed or cleared yet (an exhausted one may still be delaying)."""
        self._ids = itertools.count(1)
        self._clock = clock

    def add(self, **spec: Unpack[FaultSpec]) -> Fault:
        """Add a fault; see :class:`Fault` for the settings and their defaults.

        Raises:
            ValueError: The fault could never apply or answers nothing sensible.
        """
        fault = Fault(id="", set_at=self._clock(), **spec)
        _check(fault)
        fault.id = f"fault-{next(self._ids)}"  # a refused fault takes no id
        self._faults.append(fault)
        self._unreleased.append(fault)
        return fault

    def take(self, conversation_id: str | None, operation: str) -> Fault | None:
        """The fault that answers this request, counted as used; None when none applies."""
        now = self._clock()
        for fault in [fault for fault in self._faults if fault.ended(now)]:
            self._faults.remove(fault)
            self._release(fault)
        candidates = [
            fault
            for fault in self._faults
            if fault.operation in (None, operation)
            and fault.conversation_id in (None, conversation_id)
            and fault.started(now)
        ]
        candidates.sort(key=lambda fault: fault.conversation_id is None)
        if not candidates:
            return None
        fault = candidates[0]
        fault.used += 1
        if fault.exhausted:
            self._faults.remove(fault)
        return fault

    def faults(self) -> list[Fault]:
        """The faults still active (or whose window is still to come)."""
        now = self._clock()
        return [fault for fault in self._faults if not fault.ended(now)]

    def remove(self, fault_id: str) -> bool:
        """Remove one fault, ending its delays; False when there is none with this id."""
        for fault in self._faults:
            if fault.id == fault_id:
                self._faults.remove(fault)
                self._release(fault)
                return True
        return False

    def clear(self) -> None:
        """Remove every fault, ending every delay."""
        self._faults.clear()
        for fault in list(self._unreleased):
            self._release(fault)

    def _release(self, fault: Fault) -> None:
        fault.released.set()
        if fault in self._unreleased:
            self._unreleased.remove(fault)
