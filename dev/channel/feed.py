"""The playground's live feed: what users said to the bot and what the bot sent, in order.

Entries come from two places. The channel's user client (:class:`FeedUserClient`) adds each
activity a user posts to the bot's ``/api/messages`` and keeps that conversation's *turn in
flight* until the bot answers the POST. The connector's recorder reports each request the bot
made (:meth:`ConversationFeed.on_record`), while that request is being served.

**Proactive.** A bot activity is marked proactive unless it is a reply (a ``replyToId``, from
the ``replyToActivity`` path or the body) that arrived while a turn of the same conversation
was in flight. So the welcome and the echo are not proactive: they answer the user's activity
while the channel still waits for the bot's answer. Queue sends, schedule occurrences and
``/api/sendactivity`` are proactive, even when one lands during a user's turn, since a
proactive send replies to nothing (stored references carry no ``activityId``). An activity
posted to the bot by anything but this channel (a test posting to ``/api/messages`` itself)
is no turn the channel knows of, so the bot's replies to it count as proactive.

Entries live in memory (the newest :data:`MAX_ENTRIES`), numbered from 1 in arrival order;
subscribers (the ``/_channel/events`` stream) get each new entry as it is added.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import secrets
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp

from dev.channel.connector_paths import Operation
from dev.channel.recorder import RecordedRequest
from dev.channel.user_client import CHANNEL_TOKEN, BotResponse, UserClient

MAX_ENTRIES = 5000
"""Entries kept; older ones are dropped (a page that reconnects sees the newest only)."""

EntryKind = Literal["user", "bot", "update", "delete", "refused"]
"""``user``: a user's activity posted to the bot. ``bot``: an activity the connector accepted
(send, reply, or the first activity of a conversation the bot created). ``update`` and
``delete``: the bot changed or removed one of its activities. ``refused``: the connector
refused a send, reply or update (the status and error code say why)."""

_REFUSABLE = frozenset(
    {Operation.SEND_TO_CONVERSATION, Operation.REPLY_TO_ACTIVITY, Operation.UPDATE_ACTIVITY}
)


@dataclass(frozen=True)
class FeedEntry:
    """One event of a conversation.

    Attributes:
        sequence: Arrival order in this feed, from 1.
        kind: What happened (see :data:`EntryKind`).
        conversation_id: The conversation.
        activity_id: The activity's id: the connector's ``act-<n>`` for the bot's, the
            channel's for a user's, the changed one for an update or delete.
        reply_to_id: The activity a bot activity replies to, if any.
        proactive: A bot activity sent outside a turn (see the module docstring).
        operation: The Connector operation, or ``userActivity``.
        status: The connector's HTTP status (``None`` for a user's activity).
        error_code: The connector's error code of a refused request.
        activity: The activity as sent.
        received_at: When it arrived, UTC.
    """

    sequence: int
    kind: EntryKind
    conversation_id: str
    activity_id: str | None
    reply_to_id: str | None
    proactive: bool
    operation: str
    status: int | None
    error_code: str | None
    activity: dict[str, Any] | None
    received_at: datetime.datetime = field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC)
    )

    def to_json(self) -> dict[str, Any]:
        """The entry, camelCase, as the event stream sends it."""
        return {
            "sequence": self.sequence,
            "kind": self.kind,
            "conversationId": self.conversation_id,
            "activityId": self.activity_id,
            "replyToId": self.reply_to_id,
            "proactive": self.proactive,
            "operation": self.operation,
            "status": self.status,
            "errorCode": self.error_code,
            "activity": self.activity,
            "receivedAt": self.received_at.isoformat(timespec="milliseconds"),
        }


class FeedSubscription:
    """New entries of one subscriber, in order; ``None`` once the feed is closed."""

    def __init__(self, feed: ConversationFeed, conversation_id: str | None) -> None:
        self._feed = feed
        self.conversation_id = conversation_id
        self._queue: asyncio.Queue[FeedEntry | None] = asyncio.Queue()

    def offer(self, entry: FeedEntry | None) -> None:
        """Queue an entry if it is of this subscriber's conversation (or the end marker)."""
        if entry is None or self.conversation_id in (None, entry.conversation_id):
            self._queue.put_nowait(entry)

    async def next(self) -> FeedEntry | None:
        """The next entry; ``None`` when the feed was closed."""
        return await self._queue.get()

    def close(self) -> None:
        """Stop receiving entries."""
        self._feed.unsubscribe(self)


class ConversationFeed:
    """Users' and the bot's activities per conversation, with live subscribers.

    Args:
        max_entries: How many entries are kept.
    """

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.instance = secrets.token_hex(4)
        """Names this feed, so a page can tell a restarted channel's sequence numbers apart."""
        self._entries: deque[FeedEntry] = deque(maxlen=max_entries)
        self._sequence = 0
        self._in_flight: Counter[str] = Counter()
        self._subscribers: set[FeedSubscription] = set()
        self._closed = False

    @property
    def last_sequence(self) -> int:
        """The sequence of the newest entry, 0 when there was none."""
        return self._sequence

    def in_turn(self, conversation_id: str) -> bool:
        """Whether a user's activity of the conversation is waiting for the bot's answer."""
        return self._in_flight[conversation_id] > 0

    def entries(self, conversation_id: str | None = None, after: int = 0) -> list[FeedEntry]:
        """Kept entries newer than ``after``, optionally of one conversation."""
        return [
            entry
            for entry in self._entries
            if entry.sequence > after and conversation_id in (None, entry.conversation_id)
        ]

    def subscribe(
        self, conversation_id: str | None = None, after: int = 0
    ) -> tuple[list[FeedEntry], FeedSubscription]:
        """The entries after ``after`` and a subscription to every later one, with no gap.

        Both are taken without yielding to the event loop, so no entry falls between them.
        """
        subscription = FeedSubscription(self, conversation_id)
        if self._closed:
            subscription.offer(None)
        else:
            self._subscribers.add(subscription)
        return self.entries(conversation_id, after), subscription

    def unsubscribe(self, subscription: FeedSubscription) -> None:
        """Forget a subscriber."""
        self._subscribers.discard(subscription)

    def close(self) -> None:
        """End every subscription (the server is stopping)."""
        self._closed = True
        for subscription in list(self._subscribers):
            subscription.offer(None)
        self._subscribers.clear()

    @contextlib.contextmanager
    def user_turn(self, activity: Mapping[str, Any]) -> Iterator[FeedEntry | None]:
        """Add a user's activity and keep its conversation's turn in flight inside the block.

        Yields:
            The entry, or ``None`` for an activity without a conversation id (not recorded).
        """
        conversation_id = _conversation_id_of(activity)
        if conversation_id is None:
            yield None
            return
        entry = self._add(
            kind="user",
            conversation_id=conversation_id,
            activity_id=_text_or_none(activity.get("id")),
            reply_to_id=None,
            proactive=False,
            operation="userActivity",
            status=None,
            error_code=None,
            activity=dict(activity),
        )
        self._in_flight[conversation_id] += 1
        try:
            yield entry
        finally:
            self._in_flight[conversation_id] -= 1
            if self._in_flight[conversation_id] <= 0:
                del self._in_flight[conversation_id]

    def on_record(self, record: RecordedRequest) -> None:
        """The recorder's listener: add the bot's sends, replies, updates and deletes."""
        kind = _kind_of(record)
        if kind is None or record.conversation_id is None:
            return
        body = record.activity or {}
        reply_to_id = record.reply_to_id or _text_or_none(body.get("replyToId"))
        proactive = kind == "bot" and (
            reply_to_id is None or not self.in_turn(record.conversation_id)
        )
        self._add(
            kind=kind,
            conversation_id=record.conversation_id,
            activity_id=record.activity_id,
            reply_to_id=reply_to_id,
            proactive=proactive,
            operation=record.operation,
            status=record.status,
            error_code=record.error_code,
            activity=record.activity,
            received_at=record.received_at,
        )

    def _add(self, **fields: Any) -> FeedEntry:
        self._sequence += 1
        entry = FeedEntry(sequence=self._sequence, **fields)
        self._entries.append(entry)
        for subscription in list(self._subscribers):
            subscription.offer(entry)
        return entry


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _conversation_id_of(activity: Mapping[str, Any]) -> str | None:
    conversation = activity.get("conversation")
    if not isinstance(conversation, Mapping):
        return None
    return _text_or_none(conversation.get("id"))


def _kind_of(record: RecordedRequest) -> EntryKind | None:
    try:
        operation = Operation(record.operation)
    except ValueError:  # the redirect sink, or a path that named no operation
        return None
    if operation.is_read:
        return None
    if not record.accepted:
        # A refused create has no conversation to show it in; a refused delete has no text.
        refusable = operation in _REFUSABLE and record.activity is not None
        return "refused" if refusable else None
    if operation is Operation.UPDATE_ACTIVITY:
        return "update"
    if operation is Operation.DELETE_ACTIVITY:
        return "delete"
    return "bot" if record.activity is not None else None


class FeedUserClient(UserClient):
    """The channel's user client, adding what users post to a :class:`ConversationFeed`.

    Args:
        session: The HTTP session to post with (the caller closes it).
        feed: Where users' activities go, and which turns are in flight.
        **options: The :class:`UserClient` options.
    """

    def __init__(
        self, session: aiohttp.ClientSession, *, feed: ConversationFeed, **options: Any
    ) -> None:
        super().__init__(session, **options)
        self.feed = feed

    async def post(
        self,
        activity: dict[str, Any],
        *,
        authorization: str | None = CHANNEL_TOKEN,
        headers: Mapping[str, str] | None = None,
    ) -> BotResponse:
        """POST an activity to the bot (see :meth:`UserClient.post`) inside its turn."""
        with self.feed.user_turn(activity):
            return await super().post(activity, authorization=authorization, headers=headers)
