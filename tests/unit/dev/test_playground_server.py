"""The playground's HTTP side: the page, the event stream, the bot proxy and the enqueue route.

Everything runs in-process on 127.0.0.1: the routes on small aiohttp apps, a tiny bot that
answers through the connector, and one real local channel (auth off) for the live stream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, unquote

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from azure.core.exceptions import ServiceRequestError

from dev.channel import ChannelConfig, ChannelKeys, RunningChannel, start_channel
from dev.channel.feed import ConversationFeed
from dev.channel.playground import add_playground_routes
from dev.channel.proactive_queue import ProactiveQueue

Event = tuple[str, str | None, dict[str, Any]]


class StubQueue(ProactiveQueue):
    """The proactive queue without storage: keeps what would have been sent."""

    def __init__(self, connection: str | None = "UseDevelopmentStorage=true") -> None:
        super().__init__(connection, "proactive-sends")
        self.sent: list[str] = []
        self.fail = False

    async def send(self, text: str) -> str:
        if self.fail:
            raise ServiceRequestError("connection refused")
        self.sent.append(text)
        return f"queue-message-{len(self.sent)}"


class FakeBot:
    """A bot's service routes and ``/api/messages``, answering in the turn through the connector.

    A message is echoed as a reply (``replyToId``) before the POST is answered, as the real
    bot does; a conversationUpdate gets a welcome the same way.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.app = web.Application()
        self.app.router.add_route("*", "/api/{tail:.*}", self.handle)
        self.session: aiohttp.ClientSession | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(
            {
                "method": request.method,
                "path": request.raw_path,
                "query": dict(request.query),
                "contentType": request.headers.get("Content-Type"),
                "body": body.decode() if body else None,
            }
        )
        if request.path == "/api/messages":
            return await self.take_turn(json.loads(body))
        if request.path == "/api/missing":
            return web.json_response(
                {"error": {"code": "NotFound", "message": "no function serves /api/missing"}},
                status=404,
            )
        return web.json_response({"forwarded": request.raw_path}, status=207)

    async def take_turn(self, activity: dict[str, Any]) -> web.StreamResponse:
        assert self.session is not None
        text = "Welcome!" if activity["type"] == "conversationUpdate" else "echo"
        conversation = quote(activity["conversation"]["id"], safe="")
        url = (
            f"{activity['serviceUrl']}v3/conversations/{conversation}"
            f"/activities/{quote(activity['id'], safe='')}"
        )
        reply = {"type": "message", "text": text, "replyToId": activity["id"]}
        async with self.session.post(url, json=reply) as answer:
            assert answer.status == 201
        return web.Response(status=200)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def bot(http: aiohttp.ClientSession) -> AsyncIterator[tuple[FakeBot, str]]:
    fake = FakeBot()
    fake.session = http
    server = TestServer(fake.app, host="127.0.0.1")
    await server.start_server()
    try:
        yield fake, str(server.make_url("/api/messages"))
    finally:
        await server.close()


@pytest.fixture
def queue() -> StubQueue:
    return StubQueue()


@pytest.fixture
def feed() -> ConversationFeed:
    return ConversationFeed()


@pytest.fixture
async def client(
    http: aiohttp.ClientSession,
    bot: tuple[FakeBot, str],
    queue: StubQueue,
    feed: ConversationFeed,
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application()
    add_playground_routes(app, feed=feed, queue=queue, session=http, bot_url=bot[1])
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client


JSON = {"Content-Type": "application/json"}


# ---- the page


async def test_the_root_redirects_to_the_page(
    client: TestClient[web.Request, web.Application],
) -> None:
    for path in ("/", "/playground"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 302
        assert response.headers["Location"] == "/playground/"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/playground/", "text/html"),
        ("/playground/index.html", "text/html"),
        ("/playground/playground.js", "text/javascript"),
        ("/playground/playground.css", "text/css"),
        ("/playground/favicon.svg", "image/svg+xml"),
    ],
)
async def test_page_files_are_served_with_a_strict_policy(
    client: TestClient[web.Request, web.Application], path: str, content_type: str
) -> None:
    response = await client.get(path)
    assert response.status == 200
    assert response.content_type == content_type
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert await response.read()


async def test_the_page_loads_only_its_own_files(
    client: TestClient[web.Request, web.Application],
) -> None:
    html = await (await client.get("/playground/")).text()
    assert 'src="playground.js"' in html
    assert 'href="playground.css"' in html
    assert "<script>" not in html  # the policy forbids inline scripts


@pytest.mark.parametrize(
    "path",
    ["/playground/nope.js", "/playground/..%2Fserver.py", "/playground/%2E%2E/feed.py"],
)
async def test_only_listed_files_are_served(
    client: TestClient[web.Request, web.Application], path: str
) -> None:
    response = await client.get(path)
    assert response.status == 404


async def test_other_hosts_are_refused(client: TestClient[web.Request, web.Application]) -> None:
    # A DNS-rebinding page reaches 127.0.0.1 under its own host name.
    for path in ("/playground/", "/_channel/events", "/_channel/enqueue", "/_channel/bot/health"):
        response = await client.get(path, headers={"Host": "evil.example:8080"})
        assert response.status == 403, path
        assert (await response.json())["error"]["code"] == "Forbidden"


# ---- the bot proxy


async def test_the_proxy_forwards_to_the_bots_routes(
    client: TestClient[web.Request, web.Application], bot: tuple[FakeBot, str]
) -> None:
    fake, _ = bot
    response = await client.get(
        "/_channel/bot/references", params={"channelId": "msteams", "conversationId": "a:1 x/y"}
    )
    assert response.status == 207
    assert await response.json() == {"forwarded": fake.requests[-1]["path"]}
    assert fake.requests[-1]["query"] == {"channelId": "msteams", "conversationId": "a:1 x/y"}


async def test_the_proxy_keeps_encoded_ids_in_one_segment(
    client: TestClient[web.Request, web.Application], bot: tuple[FakeBot, str]
) -> None:
    fake, _ = bot
    response = await client.get("/_channel/bot/deliveries/a%2Fb%3Ac")
    assert response.status == 207
    # "%2F" must survive (else the id becomes two segments); ":" may be sent as it is.
    assert unquote(fake.requests[-1]["path"].rsplit("/", 1)[-1]) == "a/b:c"


async def test_the_proxy_forwards_json_bodies(
    client: TestClient[web.Request, web.Application], bot: tuple[FakeBot, str]
) -> None:
    fake, _ = bot
    body = {"cron": "0 * * * * *", "activities": [{"type": "message", "text": "x"}]}
    response = await client.post("/_channel/bot/schedules", json=body)
    assert response.status == 207
    forwarded = fake.requests[-1]
    assert forwarded["method"] == "POST"
    assert forwarded["contentType"].startswith("application/json")
    assert json.loads(forwarded["body"]) == body

    response = await client.delete("/_channel/bot/schedules/s-1", headers=JSON)
    assert response.status == 207
    assert fake.requests[-1]["method"] == "DELETE"


@pytest.mark.parametrize("route", ["messages", "admin/host/status", "missing", ""])
async def test_the_proxy_refuses_other_routes(
    client: TestClient[web.Request, web.Application], bot: tuple[FakeBot, str], route: str
) -> None:
    fake, _ = bot
    response = await client.post(f"/_channel/bot/{route}", json={"type": "message"})
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "NotProxied"
    assert fake.requests == []


async def test_the_proxy_refuses_cross_site_writes(
    client: TestClient[web.Request, web.Application], bot: tuple[FakeBot, str]
) -> None:
    fake, _ = bot
    form = await client.post(
        "/_channel/bot/schedules",
        data="a=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status == 415
    other_origin = await client.post(
        "/_channel/bot/schedules", json={}, headers={"Origin": "http://evil.example"}
    )
    assert other_origin.status == 403
    same_origin = await client.post(
        "/_channel/bot/schedules",
        json={},
        headers={"Origin": str(client.make_url("")).rstrip("/")},
    )
    assert same_origin.status == 207
    assert len(fake.requests) == 1


async def test_a_bot_that_does_not_answer_is_a_502(
    http: aiohttp.ClientSession, queue: StubQueue, feed: ConversationFeed
) -> None:
    app = web.Application()
    # Port 9 (discard) is not served on loopback here: the connection is refused.
    add_playground_routes(
        app, feed=feed, queue=queue, session=http, bot_url="http://127.0.0.1:9/api/messages"
    )
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        response = await test_client.get("/_channel/bot/health")
        assert response.status == 502
        assert (await response.json())["error"]["code"] == "BotUnreachable"


# ---- enqueue


async def test_enqueue_puts_the_message_on_the_queue_as_compact_json(
    client: TestClient[web.Request, web.Application], queue: StubQueue
) -> None:
    status = await client.get("/_channel/enqueue")
    assert await status.json() == {"configured": True, "queueName": "proactive-sends"}

    message = {
        "version": 1,
        "id": "playground-1",
        "user": {"channelId": "msteams", "userId": "29:1abc"},
        "activities": [{"type": "message", "text": "Grüße"}],
    }
    response = await client.post("/_channel/enqueue", json=message)
    assert response.status == 202
    assert await response.json() == {
        "id": "playground-1",
        "queueName": "proactive-sends",
        "queueMessageId": "queue-message-1",
    }
    (sent,) = queue.sent
    assert json.loads(sent) == message
    assert "\n" not in sent
    assert "Grüße" in sent  # UTF-8 text; the queue client base64-encodes it


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"not json", 400, "BadArgument"),
        (b"[1, 2]", 400, "BadArgument"),
        (json.dumps({"id": "x", "pad": "x" * 60_000}).encode(), 413, "MessageTooLarge"),
    ],
)
async def test_enqueue_refuses_what_cannot_be_a_message(
    client: TestClient[web.Request, web.Application],
    queue: StubQueue,
    body: bytes,
    status: int,
    code: str,
) -> None:
    response = await client.post("/_channel/enqueue", data=body, headers=JSON)
    assert response.status == status
    assert (await response.json())["error"]["code"] == code
    assert queue.sent == []


async def test_enqueue_without_a_connection_is_a_503(
    http: aiohttp.ClientSession, feed: ConversationFeed
) -> None:
    app = web.Application()
    add_playground_routes(
        app,
        feed=feed,
        queue=ProactiveQueue(None, "proactive-sends"),
        session=http,
        bot_url="http://127.0.0.1:9/api/messages",
    )
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        status = await test_client.get("/_channel/enqueue")
        assert (await status.json())["configured"] is False
        response = await test_client.post("/_channel/enqueue", json={"id": "x"})
        assert response.status == 503
        assert (await response.json())["error"]["code"] == "QueueNotConfigured"


async def test_a_queue_that_fails_is_a_502(
    client: TestClient[web.Request, web.Application], queue: StubQueue
) -> None:
    queue.fail = True
    response = await client.post("/_channel/enqueue", json={"id": "x"})
    assert response.status == 502
    assert (await response.json())["error"]["code"] == "QueueUnavailable"


async def test_enqueue_refuses_cross_site_forms(
    client: TestClient[web.Request, web.Application], queue: StubQueue
) -> None:
    response = await client.post(
        "/_channel/enqueue", data="{}", headers={"Content-Type": "text/plain"}
    )
    assert response.status == 415
    assert queue.sent == []


# ---- the live stream, through a real channel


async def read_events(response: aiohttp.ClientResponse, count: int) -> list[Event]:
    """Read server-sent events until ``count`` have arrived (10 s at most)."""
    events: list[Event] = []
    name, event_id = "message", None
    data: list[str] = []
    async with asyncio.timeout(10):
        async for raw in response.content:
            line = raw.decode().rstrip("\r\n")
            if not line:
                if data:
                    events.append((name, event_id, json.loads("\n".join(data))))
                    if len(events) >= count:
                        return events
                name, data = "message", []
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
            elif field == "id":
                event_id = value
    return events


@pytest.fixture(scope="module")
def keys() -> ChannelKeys:
    return ChannelKeys.generate()


@pytest.fixture
async def channel(keys: ChannelKeys, bot: tuple[FakeBot, str]) -> AsyncIterator[RunningChannel]:
    running = await start_channel(ChannelConfig(keys=keys, auth_required=False, bot_url=bot[1]))
    try:
        yield running
    finally:
        await running.aclose()


async def test_the_stream_marks_replies_and_proactive_messages(
    channel: RunningChannel, http: aiohttp.ClientSession
) -> None:
    base = channel.connector_url
    async with http.post(f"{base}/_channel/say", json={"text": "hi"}) as said:
        assert said.status == 200
        conversation_id = (await said.json())["conversationId"]
    # What the bot sends on its own: no turn in flight, no replyToId.
    url = f"{base}/v3/conversations/{quote(conversation_id, safe='')}/activities"
    async with http.post(url, json={"type": "message", "text": "Your report"}) as sent:
        assert sent.status == 201

    async with http.get(
        f"{base}/_channel/events", params={"conversationId": conversation_id}
    ) as stream:
        assert stream.status == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        events = await read_events(stream, 6)

    names = [name for name, _, _ in events]
    assert names == ["activity"] * 5 + ["ready"]
    entries = [data for name, _, data in events if name == "activity"]
    assert [(entry["kind"], entry["activity"]["type"]) for entry in entries] == [
        ("user", "conversationUpdate"),
        ("bot", "message"),
        ("user", "message"),
        ("bot", "message"),
        ("bot", "message"),
    ]
    assert [entry["proactive"] for entry in entries] == [False, False, False, False, True]
    assert entries[3]["replyToId"] == entries[2]["activityId"]
    assert entries[4]["activity"]["text"] == "Your report"
    assert events[0][1] == f"{channel.feed.instance}:1"
    assert events[-1][2] == {"instance": channel.feed.instance, "lastSequence": 5}


async def test_the_stream_sends_new_entries_live_and_resumes_after_an_id(
    channel: RunningChannel, http: aiohttp.ClientSession
) -> None:
    base = channel.connector_url
    async with http.post(f"{base}/_channel/conversations", json={"userName": "Grace"}) as started:
        conversation_id = (await started.json())["conversationId"]
    async with http.get(f"{base}/_channel/events") as stream:
        backlog = await read_events(stream, 3)
        assert [name for name, _, _ in backlog] == ["activity", "activity", "ready"]
        async with http.post(
            f"{base}/_channel/say", json={"conversationId": conversation_id, "text": "later"}
        ) as said:
            assert said.status == 200
        live = await read_events(stream, 2)
    assert [data["activity"]["text"] for _, _, data in live] == ["later", "echo"]

    last_seen = backlog[1][1]
    assert last_seen is not None
    async with http.get(f"{base}/_channel/events", headers={"Last-Event-ID": last_seen}) as again:
        resumed = await read_events(again, 3)
    assert [data.get("activity", {}).get("text") for _, _, data in resumed[:2]] == [
        "later",
        "echo",
    ]
    assert resumed[2][0] == "ready"


async def test_stopping_the_channel_ends_open_streams(
    keys: ChannelKeys, bot: tuple[FakeBot, str], http: aiohttp.ClientSession
) -> None:
    running = await start_channel(ChannelConfig(keys=keys, auth_required=False, bot_url=bot[1]))
    try:
        async with http.get(f"{running.connector_url}/_channel/events") as stream:
            assert [name for name, _, _ in await read_events(stream, 1)] == ["ready"]
            await running.aclose()
            async with asyncio.timeout(10):
                rest = await stream.content.read()
        assert b"event: activity" not in rest
    finally:
        await running.aclose()
