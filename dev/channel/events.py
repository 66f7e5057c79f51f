"""``GET /_channel/events``: the conversation feed as server-sent events.

    GET /_channel/events?conversationId=a:1xyz      (all conversations without it)

The stream first replays the kept entries (after the one named by ``Last-Event-ID`` or the
``after`` query parameter), then sends an ``event: ready`` line, then every new entry as it
happens, until the client goes away or the channel stops. Each entry is::

    id: <feed instance>:<sequence>
    event: activity
    data: {"sequence", "kind", "conversationId", "activityId", "replyToId", "proactive",
           "operation", "status", "errorCode", "activity", "receivedAt"}

(see :class:`dev.channel.feed.FeedEntry`). An id from another feed instance (the channel was
restarted) replays everything. A comment line every :data:`HEARTBEAT_SECONDS` keeps proxies
and browsers from timing the stream out and notices a client that left.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from dev.channel.feed import ConversationFeed, FeedEntry
from dev.channel.page_guard import refusal

HEARTBEAT_SECONDS = 15.0
RETRY_MILLISECONDS = 2000
"""How long a browser waits before reconnecting a dropped stream."""

FEED_KEY: web.AppKey[ConversationFeed] = web.AppKey("conversation_feed", ConversationFeed)


def _event(name: str, data: Any, event_id: str | None = None) -> bytes:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {name}")
    # json.dumps never emits a raw newline, so the data is always one line.
    lines.append("data: " + json.dumps(data, separators=(",", ":")))
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def encode_entry(feed: ConversationFeed, entry: FeedEntry) -> bytes:
    """One entry as a server-sent event."""
    return _event("activity", entry.to_json(), f"{feed.instance}:{entry.sequence}")


def resume_after(feed: ConversationFeed, last_event_id: str | None) -> int:
    """The sequence to replay after, from a ``Last-Event-ID`` (or ``after``) value.

    A plain number counts as this feed's; an id of another instance, or anything unreadable,
    replays everything.
    """
    if not last_event_id:
        return 0
    instance, _, sequence = last_event_id.strip().rpartition(":")
    if instance and instance != feed.instance:
        return 0
    try:
        after = int(sequence)
    except ValueError:
        return 0
    return after if 0 <= after <= feed.last_sequence else 0


async def stream_events(request: web.Request) -> web.StreamResponse:
    """Stream the feed of one conversation (or all) until the client or the channel stops."""
    refused = refusal(request)
    if refused is not None:
        return refused
    feed = request.app[FEED_KEY]
    conversation_id = request.query.get("conversationId") or None
    after = resume_after(feed, request.headers.get("Last-Event-ID") or request.query.get("after"))
    backlog, subscription = feed.subscribe(conversation_id, after)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    try:
        await response.prepare(request)
        await response.write(f"retry: {RETRY_MILLISECONDS}\n\n".encode())
        for kept in backlog:
            await response.write(encode_entry(feed, kept))
        await response.write(
            _event("ready", {"instance": feed.instance, "lastSequence": feed.last_sequence})
        )
        while True:
            try:
                entry = await asyncio.wait_for(subscription.next(), HEARTBEAT_SECONDS)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if entry is None:
                break
            await response.write(encode_entry(feed, entry))
    except ConnectionResetError:
        # The page was closed or reloaded: nothing to answer any more.
        pass
    finally:
        subscription.close()
    return response


async def _close_feed(app: web.Application) -> None:
    app[FEED_KEY].close()


def add_event_routes(app: web.Application, feed: ConversationFeed) -> None:
    """Serve ``GET /_channel/events`` from ``feed``; streams end when the server shuts down."""
    app[FEED_KEY] = feed
    app.router.add_get("/_channel/events", stream_events)
    # on_shutdown runs before the server waits for open requests: open streams end at once.
    app.on_shutdown.append(_close_feed)
