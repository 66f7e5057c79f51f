"""Everything the bot sent to the connector, in arrival order.

Each request is kept with its decoded conversation id, the activity body, whether an
``Authorization`` header came with it (the token itself is never stored), the answer the
connector gave and when it arrived. Waiters are woken on every new record, so a test waits for
"N activities in conversation X" without sleeping; listeners (the playground's live feed) are
called with each record as it is made.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RecordedRequest:
    """One request the connector received.

    Attributes:
        sequence: Arrival order, from 1.
        method: The HTTP method.
        path: The raw path (percent-encoded, no query string).
        operation: The Connector operation name, or ``redirectSink`` / ``unknown``.
        conversation_id: The decoded conversation id, when the path has one.
        activity_id: The id the connector assigned (sends) or the one targeted (update,
            delete, reply's ``replyToId`` is in ``reply_to_id``).
        reply_to_id: For a reply, the activity replied to.
        activity: The JSON body (an Activity, or ConversationParameters for create), or None.
        has_authorization: An ``Authorization`` header was present.
        authorization_scheme: Its scheme (``Bearer``...), never the credential.
        authorized: The token was valid (always True when the connector runs without auth).
        status: The HTTP status the connector answered.
        error_code: The error code answered, if any.
        retry_after: The ``Retry-After`` seconds answered, if any: the bot must not send the
            same activity again sooner than this after ``answered_at``.
        received_at: Arrival time, UTC.
        answered_at: When the answer was made (later than arrival by an injected delay), UTC.
    """

    sequence: int
    method: str
    path: str
    operation: str
    conversation_id: str | None
    activity_id: str | None
    reply_to_id: str | None
    activity: dict[str, Any] | None
    has_authorization: bool
    authorization_scheme: str | None
    authorized: bool
    status: int
    error_code: str | None
    retry_after: int | None = None
    received_at: datetime.datetime = field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC)
    )
    answered_at: datetime.datetime = field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC)
    )

    @property
    def accepted(self) -> bool:
        """The connector answered 2xx."""
        return 200 <= self.status < 300

    def to_json(self) -> dict[str, Any]:
        """The record, camelCase, for the control API."""
        return {
            "sequence": self.sequence,
            "method": self.method,
            "path": self.path,
            "operation": self.operation,
            "conversationId": self.conversation_id,
            "activityId": self.activity_id,
            "replyToId": self.reply_to_id,
            "activity": self.activity,
            "hasAuthorization": self.has_authorization,
            "authorizationScheme": self.authorization_scheme,
            "authorized": self.authorized,
            "status": self.status,
            "errorCode": self.error_code,
            "retryAfter": self.retry_after,
            "receivedAt": self.received_at.isoformat(timespec="milliseconds"),
            "answeredAt": self.answered_at.isoformat(timespec="milliseconds"),
        }


RequestFilter = Callable[[RecordedRequest], bool]

RecordListener = Callable[[RecordedRequest], None]
"""Called with every new record, synchronously, while the request is still being served."""


def delivered_activity(record: RecordedRequest) -> bool:
    """Accepted requests that carried an activity: sends, replies, updates, creates."""
    return record.accepted and record.activity is not None and record.operation != "redirectSink"


class ActivityRecorder:
    """The connector's log of received requests."""

    def __init__(self) -> None:
        self._records: list[RecordedRequest] = []
        self._changed = asyncio.Event()
        self._next_activity = 0
        self._listeners: list[RecordListener] = []
        self.in_flight = 0
        """Requests that arrived and are not answered yet (held by an injected delay, say):
        a bot killed now leaves exactly these unsure whether they arrived."""

    def add_listener(self, listener: RecordListener) -> None:
        """Call ``listener`` with every record from now on (it must not block or raise)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: RecordListener) -> None:
        """Stop calling ``listener``; nothing happens if it was not added."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def next_activity_id(self) -> str:
        """A new activity id, ``act-<n>``; never reused, even after :meth:`clear`."""
        self._next_activity += 1
        return f"act-{self._next_activity}"

    def record(self, **fields: Any) -> RecordedRequest:
        """Append a record (fields as :class:`RecordedRequest`, without ``sequence``)."""
        sequence = self._records[-1].sequence + 1 if self._records else 1
        record = RecordedRequest(sequence=sequence, **fields)
        self._records.append(record)
        # Wake every waiter; each re-checks its own condition.
        self._changed.set()
        self._changed = asyncio.Event()
        for listener in list(self._listeners):
            listener(record)
        return record

    def requests(self, conversation_id: str | None = None) -> list[RecordedRequest]:
        """Every received request, optionally of one conversation."""
        return [
            record
            for record in self._records
            if conversation_id is None or record.conversation_id == conversation_id
        ]

    def activities(self, conversation_id: str | None = None) -> list[RecordedRequest]:
        """Accepted requests that carried an activity, optionally of one conversation."""
        return [record for record in self.requests(conversation_id) if delivered_activity(record)]

    def clear(self) -> None:
        """Forget every record (activity ids keep counting)."""
        self._records.clear()

    async def wait_for(
        self,
        count: int,
        timeout: float,  # noqa: ASYNC109 - one deadline across many wake-ups
        conversation_id: str | None = None,
        matches: RequestFilter = delivered_activity,
    ) -> list[RecordedRequest]:
        """Wait until ``count`` matching records of the conversation exist.

        Args:
            count: How many records are awaited.
            timeout: Seconds to wait at most.
            conversation_id: Only this conversation's records count; all when None.
            matches: Which records count (delivered activities by default).

        Returns:
            The matching records when there are ``count`` or more.

        Raises:
            TimeoutError: Fewer than ``count`` matching records after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            changed = self._changed
            found = [record for record in self.requests(conversation_id) if matches(record)]
            if len(found) >= count:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"{len(found)} of {count} activities recorded for conversation "
                    f"{conversation_id!r} after {timeout} s"
                )
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                continue
