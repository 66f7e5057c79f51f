"""The local channel's real servers: MSAL against the token endpoint, the connector's auth,
recording, faults and rate limits, the user client against a small bot, and the runner.

Everything runs on 127.0.0.1 on free ports; the bot used here is a real aiohttp server that
validates channel tokens through the OpenID metadata and answers through the connector with
an MSAL token, as the product bot does.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import jwt
import msal  # type: ignore[import-untyped]
import pytest
from aiohttp import web
from yarl import URL

from dev.channel import (
    ChannelConfig,
    ChannelControl,
    ChannelControlError,
    ChannelKeys,
    ChannelProcess,
    RunningChannel,
    TokenDefect,
    start_channel,
)

SCOPE = "https://api.botframework.com/.default"


@pytest.fixture(scope="module")
def keys() -> ChannelKeys:
    """RSA keys generated once for the module (generation costs CPU, not correctness)."""
    return ChannelKeys.generate()


@pytest.fixture
async def channel(keys: ChannelKeys) -> AsyncIterator[RunningChannel]:
    running = await start_channel(ChannelConfig(keys=keys))
    try:
        yield running
    finally:
        await running.aclose()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def control(channel: RunningChannel) -> AsyncIterator[ChannelControl]:
    async with ChannelControl(channel.control_url) as client:
        yield client


@pytest.fixture
def trust_local_ca(channel: RunningChannel, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the bot process does: REQUESTS_CA_BUNDLE = certifi's roots + the local CA."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(channel.ca_bundle_path))


async def _msal_app(channel: RunningChannel, credential: Any) -> msal.ConfidentialClientApplication:
    # The constructor already fetches the tenant's OpenID configuration: blocking I/O, so it
    # runs in a thread like every MSAL call (the servers share this event loop).
    return await asyncio.to_thread(
        msal.ConfidentialClientApplication,
        channel.app_id,
        client_credential=credential,
        authority=channel.token_authority,
        instance_discovery=False,
    )


async def _acquire(app: msal.ConfidentialClientApplication) -> dict[str, Any]:
    result: dict[str, Any] = await asyncio.to_thread(app.acquire_token_for_client, [SCOPE])
    return result


def _activities_url(channel: RunningChannel, conversation_id: str) -> URL:
    # encoded=True: send the path exactly as quoted (yarl would otherwise re-normalize it).
    path = f"v3/conversations/{quote(conversation_id, safe='')}/activities"
    return URL(channel.service_url + path, encoded=True)


async def _bot_token(channel: RunningChannel) -> str:
    """A valid bot token, straight from the token endpoint's issuer."""
    form = {
        "grant_type": "client_credentials",
        "client_id": channel.app_id,
        "client_secret": channel.config.app_password,
        "scope": SCOPE,
    }
    return str(channel.state.tokens.handle_token_request("botframework.com", form)["access_token"])


async def _send(
    http: aiohttp.ClientSession,
    channel: RunningChannel,
    conversation_id: str,
    token: str | None,
    text: str = "hello",
) -> aiohttp.ClientResponse:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.post(
        _activities_url(channel, conversation_id),
        json={"type": "message", "text": text},
        headers=headers,
    ) as response:
        await response.read()
        return response


@pytest.mark.usefixtures("trust_local_ca")
async def test_msal_gets_a_token_once_and_the_connector_accepts_it(
    channel: RunningChannel, control: ChannelControl, http: aiohttp.ClientSession
) -> None:
    app = await _msal_app(channel, channel.config.app_password)
    try:
        first = await _acquire(app)
        second = await _acquire(app)
    finally:
        app.http_client.close()

    assert first["token_type"] == "Bearer"
    assert first["token_source"] == "identity_provider"
    assert second["token_source"] == "cache"
    assert second["access_token"] == first["access_token"]
    assert await control.token_requests() == 1

    response = await _send(http, channel, "a:1", first["access_token"])
    assert response.status == 201
    [record] = await control.activities("a:1")
    assert record["activity"]["text"] == "hello"
    assert record["hasAuthorization"] is True
    assert record["authorized"] is True
    assert first["access_token"] not in json.dumps(record)


@pytest.mark.usefixtures("trust_local_ca")
async def test_msal_with_a_wrong_secret_gets_invalid_client(
    channel: RunningChannel, control: ChannelControl
) -> None:
    app = await _msal_app(channel, "not the secret")
    try:
        result = await _acquire(app)
    finally:
        app.http_client.close()

    assert "access_token" not in result
    assert result["error"] == "invalid_client"
    assert 7000215 in result["error_codes"]
    stats = await control.token_stats()
    assert stats["requests"] == 1
    assert stats["issued"] == 0


@pytest.mark.usefixtures("trust_local_ca")
async def test_msal_with_the_registered_certificate(channel: RunningChannel) -> None:
    pem = channel.app_certificate_path.read_text()
    certificate = pem[pem.index("-----BEGIN CERTIFICATE") :]
    app = await _msal_app(channel, {"private_key": pem, "public_certificate": certificate})
    try:
        result = await _acquire(app)
    finally:
        app.http_client.close()
    assert channel.state.tokens.verify(result["access_token"]) is None


async def test_connector_refuses_missing_and_forged_tokens(
    channel: RunningChannel,
    control: ChannelControl,
    http: aiohttp.ClientSession,
    keys: ChannelKeys,
) -> None:
    good = await _bot_token(channel)
    claims = jwt.decode(good, options={"verify_signature": False})
    forged = jwt.encode(claims, keys.foreign.private_key, algorithm="RS256")

    assert (await _send(http, channel, "a:1", None)).status == 401
    assert (await _send(http, channel, "a:1", forged)).status == 401
    async with http.post(
        _activities_url(channel, "a:1"),
        json={"type": "message"},
        headers={"Authorization": "Basic eHl6"},
    ) as basic:
        assert basic.status == 401
        assert (await basic.json())["error"]["code"] == "Unauthorized"
    assert await control.activities("a:1") == []

    accepted = await _send(http, channel, "a:1", good)
    assert accepted.status == 201
    requests = await control.requests("a:1")
    assert [
        (item["status"], item["hasAuthorization"], item["authorized"]) for item in requests
    ] == [
        (401, False, False),
        (401, True, False),
        (401, True, False),
        (201, True, True),
    ]
    assert requests[2]["authorizationScheme"] == "Basic"
    assert all(forged not in json.dumps(item) for item in requests)
    [delivered] = await control.activities("a:1")
    assert delivered["activityId"].startswith("act-")


async def test_revoked_tokens_get_401_until_a_new_one_is_fetched(
    channel: RunningChannel, control: ChannelControl, http: aiohttp.ClientSession
) -> None:
    token = await _bot_token(channel)
    assert (await _send(http, channel, "a:1", token)).status == 201
    assert await control.revoke_tokens() == 1
    assert (await _send(http, channel, "a:1", token)).status == 401
    assert (await _send(http, channel, "a:1", await _bot_token(channel))).status == 201


async def test_injected_429_is_answered_the_configured_number_of_times(
    channel: RunningChannel, control: ChannelControl, http: aiohttp.ClientSession
) -> None:
    token = await _bot_token(channel)
    await control.set_fault(status=429, retry_after=2, times=2, conversation_id="a:busy")

    answers = []
    for _ in range(3):
        async with http.post(
            _activities_url(channel, "a:busy"),
            json={"type": "message", "text": "x"},
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            answers.append(
                (response.status, response.headers.get("Retry-After"), await response.json())
            )

    assert [(status, retry_after) for status, retry_after, _ in answers] == [
        (429, "2"),
        (429, "2"),
        (201, None),
    ]
    assert answers[0][2]["error"]["code"] == "Throttled"
    recorded = await control.requests("a:busy")
    assert [record["retryAfter"] for record in recorded] == [2, 2, None]
    assert all(record["answeredAt"] >= record["receivedAt"] for record in recorded)
    assert (await _send(http, channel, "a:other", token)).status == 201
    assert await control.faults() == []


async def test_teams_error_codes_and_redirects(
    channel: RunningChannel, control: ChannelControl, http: aiohttp.ClientSession
) -> None:
    token = await _bot_token(channel)
    headers = {"Authorization": f"Bearer {token}"}
    await control.set_fault(status=403, conversation_id="a:gone")
    async with http.post(
        _activities_url(channel, "a:gone"), json={"type": "message"}, headers=headers
    ) as response:
        assert response.status == 403
        assert (await response.json())["error"]["code"] == "BotNotInConversationRoster"

    sink = channel.state.redirect_sink_url
    await control.set_fault(status=302, location=sink, conversation_id="a:moved")
    async with http.post(
        _activities_url(channel, "a:moved"),
        json={"type": "message"},
        headers=headers,
        allow_redirects=False,
    ) as response:
        assert response.status == 302
        assert response.headers["Location"] == sink
    # A bot that (wrongly) followed would show up at the sink, with or without its token.
    async with http.post(sink, json={"type": "message"}) as followed:
        assert followed.status == 200
    [redirected] = [
        item for item in await control.requests() if item["operation"] == "redirectSink"
    ]
    assert redirected["hasAuthorization"] is False


async def test_injected_delay_holds_the_answer(
    channel: RunningChannel, control: ChannelControl, http: aiohttp.ClientSession
) -> None:
    token = await _bot_token(channel)
    await control.set_fault(delay_seconds=60, conversation_id="a:slow")
    with pytest.raises(TimeoutError):
        async with http.post(
            _activities_url(channel, "a:slow"),
            json={"type": "message"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=aiohttp.ClientTimeout(total=0.5),
        ):
            pass
    assert (await _send(http, channel, "a:slow", token)).status == 201


async def test_a_held_request_is_in_flight_until_answered(
    channel: RunningChannel, control: ChannelControl, http: aiohttp.ClientSession
) -> None:
    token = await _bot_token(channel)
    await control.set_fault(delay_seconds=1, conversation_id="a:held")
    assert await control.in_flight() == 0

    sending = asyncio.create_task(_send(http, channel, "a:held", token))
    deadline = asyncio.get_running_loop().time() + 10
    while await control.in_flight() != 1:
        assert asyncio.get_running_loop().time() < deadline, "the request never arrived"
        await asyncio.sleep(0.02)

    assert (await sending).status == 201
    assert await control.in_flight() == 0


async def test_percent_encoded_id_with_slash_is_one_conversation(
    channel: RunningChannel, control: ChannelControl, http: aiohttp.ClientSession
) -> None:
    conversation_id = "19:a/b@thread.skype;messageid=1"
    response = await _send(http, channel, conversation_id, await _bot_token(channel))
    assert response.status == 201
    [record] = await control.activities(conversation_id)
    assert record["conversationId"] == conversation_id
    assert record["path"] == (
        "/v3/conversations/19%3Aa%2Fb%40thread.skype%3Bmessageid%3D1/activities"
    )


async def test_rate_limiter_throttles_eight_messages_in_a_second(
    channel: RunningChannel, control: ChannelControl, http: aiohttp.ClientSession
) -> None:
    token = await _bot_token(channel)
    await control.set_rate_limits(True)
    statuses = []
    retry_after = None
    for number in range(8):
        async with http.post(
            _activities_url(channel, "a:chatty"),
            json={"type": "message", "text": str(number)},
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            statuses.append(response.status)
            if response.status == 429:
                retry_after = response.headers["Retry-After"]
                assert (await response.json())["error"]["code"] == "Throttled"

    assert 429 in statuses
    assert statuses[:7] == [201] * 7
    assert retry_after is not None
    assert int(retry_after) >= 1
    assert (await _send(http, channel, "a:quiet", token)).status == 201


async def test_create_conversation_members_update_and_delete(
    channel: RunningChannel, control: ChannelControl, http: aiohttp.ClientSession
) -> None:
    headers = {"Authorization": f"Bearer {await _bot_token(channel)}"}
    parameters = {
        "isGroup": False,
        "bot": {"id": channel.app_id, "name": "Bot"},
        "members": [{"id": "29:1user"}],
        "tenantId": channel.config.tenant_id,
        "activity": {"type": "message", "text": "first"},
    }
    async with http.post(
        f"{channel.service_url}v3/conversations", json=parameters, headers=headers
    ) as response:
        assert response.status == 201
        created = await response.json()
    assert created["serviceUrl"] == channel.service_url
    assert created["activityId"].startswith("act-")
    async with http.post(
        f"{channel.service_url}v3/conversations", json=parameters, headers=headers
    ) as again:
        assert (await again.json())["id"] == created["id"]

    base = f"{channel.service_url}v3/conversations/{quote(created['id'], safe='')}"
    async with http.get(f"{base}/members", headers=headers) as members:
        assert {member["id"] for member in await members.json()} == {"29:1user", channel.app_id}
    async with http.get(f"{base}/pagedmembers?pageSize=1", headers=headers) as paged:
        page = await paged.json()
        assert len(page["members"]) == 1
        assert page["continuationToken"] == "1"
    async with http.put(
        f"{base}/activities/{created['activityId']}",
        json={"type": "message", "text": "edited"},
        headers=headers,
    ) as updated:
        assert updated.status == 200
    async with http.delete(f"{base}/activities/{created['activityId']}", headers=headers) as gone:
        assert gone.status == 200
    async with http.delete(f"{base}/activities/{created['activityId']}", headers=headers) as twice:
        assert (await twice.json())["error"]["code"] == "ActivityNotFoundInConversation"
    async with http.get(
        f"{channel.service_url}v3/conversations/unknown/members", headers=headers
    ) as unknown:
        assert (await unknown.json())["error"]["code"] == "ConversationNotFound"

    operations = [item["operation"] for item in await control.activities(created["id"])]
    assert operations == ["createConversation", "createConversation", "updateActivity"]


@dataclass
class EchoBot:
    """A minimal bot: validates the channel token like the product must, echoes through the
    connector with an MSAL token."""

    channel: RunningChannel
    session: aiohttp.ClientSession
    msal_app: msal.ConfidentialClientApplication
    received: list[dict[str, Any]] = field(default_factory=list)

    async def _signing_key(self, token: str) -> tuple[Any, list[str]]:
        async with self.session.get(self.channel.openid_metadata_url) as response:
            metadata = await response.json()
        async with self.session.get(metadata["jwks_uri"]) as response:
            jwks = await response.json()
        kid = jwt.get_unverified_header(token)["kid"]
        [jwk] = [key for key in jwks["keys"] if key["kid"] == kid]
        return jwt.PyJWK(jwk).key, jwk["endorsements"]

    async def handle(self, request: web.Request) -> web.Response:
        activity = await request.json()
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            key, endorsements = await self._signing_key(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self.channel.app_id,
                issuer="https://api.botframework.com",
            )
        except (jwt.PyJWTError, ValueError):
            return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
        if claims["serviceurl"] != activity["serviceUrl"] or activity["channelId"] not in (
            endorsements
        ):
            return web.json_response({"error": {"code": "Forbidden"}}, status=403)
        self.received.append(activity)
        if activity["type"] == "message":
            result = await asyncio.to_thread(self.msal_app.acquire_token_for_client, [SCOPE])
            conversation = quote(activity["conversation"]["id"], safe="")
            async with self.session.post(
                f"{activity['serviceUrl']}v3/conversations/{conversation}/activities",
                json={"type": "message", "text": "echo: " + activity["text"]},
                headers={"Authorization": "Bearer " + result["access_token"]},
            ) as sent:
                sent.raise_for_status()
        return web.Response(status=200)


def _free_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    return sock


@pytest.fixture
async def bot_and_channel(
    keys: ChannelKeys, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[EchoBot, RunningChannel]]:
    sock = _free_socket()
    bot_url = f"http://127.0.0.1:{sock.getsockname()[1]}/api/messages"
    running = await start_channel(ChannelConfig(keys=keys, bot_url=bot_url))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(running.ca_bundle_path))
    session = aiohttp.ClientSession()
    bot = EchoBot(running, session, await _msal_app(running, running.config.app_password))
    app = web.Application()
    app.router.add_post("/api/messages", bot.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield bot, running
    finally:
        await runner.cleanup()
        await session.close()
        bot.msal_app.http_client.close()
        await running.aclose()


async def test_user_client_talks_to_a_bot_that_answers_through_the_connector(
    bot_and_channel: tuple[EchoBot, RunningChannel],
) -> None:
    bot, channel = bot_and_channel
    users = channel.state.users
    conversation = users.new_conversation()

    started = await users.start(conversation, timezone="Europe/Berlin")
    said = await users.say(conversation, "ping")
    assert (started.status, said.status) == (200, 200)

    [update, message] = bot.received
    assert update["type"] == "conversationUpdate"
    assert [member["id"] for member in update["membersAdded"]] == [
        conversation.users[0].id,
        channel.app_id,
    ]
    assert update["localTimezone"] == "Europe/Berlin"
    assert message["serviceUrl"] == channel.service_url
    assert message["recipient"]["id"] == channel.app_id
    assert message["conversation"]["tenantId"] == channel.config.tenant_id

    [reply] = await channel.state.recorder.wait_for(1, 10, conversation.id)
    assert reply.activity is not None
    assert reply.activity["text"] == "echo: ping"

    bad = await users.post(
        {**message, "id": "2"},
        authorization="Bearer "
        + channel.state.issuer.mint(
            channel.service_url, channel.app_id, defect=TokenDefect.EXPIRED
        ),
    )
    assert bad.status == 401


async def test_say_through_the_control_api(
    bot_and_channel: tuple[EchoBot, RunningChannel],
) -> None:
    bot, channel = bot_and_channel
    async with ChannelControl(channel.control_url) as control:
        said = await control.say("a:control/1", "hi", user_id="29:1control")
        assert said["started"]["status"] == 200
        assert said["response"]["status"] == 200
        [reply] = await control.wait_for_activities("a:control/1", 1, timeout=10)
        assert reply["activity"]["text"] == "echo: hi"
        with pytest.raises(TimeoutError):
            await control.wait_for_activities("a:control/1", 2, timeout=0.2)
        again = await control.say("a:control/1", "again")
        assert again["started"] is None
        assert len(await control.wait_for_activities("a:control/1", 2, timeout=10)) == 2
    assert [activity["from"]["id"] for activity in bot.received] == ["29:1control"] * 3
    assert channel.state.tokens.stats.requests == 1  # the bot's MSAL served the rest from cache


async def test_an_event_through_the_control_api(
    bot_and_channel: tuple[EchoBot, RunningChannel],
) -> None:
    bot, channel = bot_and_channel
    async with ChannelControl(channel.control_url) as control:
        sent = await control.send_event(
            "a:device/1", "DeviceStart", {"location": "car"}, timezone="Europe/Berlin"
        )
        assert sent["started"]["status"] == 200
        assert sent["response"]["status"] == 200
        with pytest.raises(ChannelControlError) as refused:
            await control.send_event("a:device/1", "")
        assert refused.value.status == 400
    [update, event] = bot.received
    assert update["type"] == "conversationUpdate"
    assert (event["type"], event["name"], event["value"]) == (
        "event",
        "DeviceStart",
        {"location": "car"},
    )
    assert event["conversation"]["id"] == "a:device/1"
    assert event["localTimezone"] == "Europe/Berlin"
    assert "text" not in event


@pytest.fixture
def channel_process(tmp_path: Path) -> Iterator[ChannelProcess]:
    process = ChannelProcess.start(
        tmp_path / "channel.json",
        bot_url="http://127.0.0.1:9/api/messages",
        app_id="00000000-0000-0000-0000-0000000000c1",
        output=tmp_path / "channel.log",
    )
    try:
        yield process
    finally:
        process.stop()


async def test_runner_writes_the_bot_settings_and_stops_cleanly(
    channel_process: ChannelProcess, tmp_path: Path
) -> None:
    settings = channel_process.bot_settings
    assert settings["MicrosoftAppId"] == "00000000-0000-0000-0000-0000000000c1"
    assert settings["BOT_OAUTH_AUTHORITY"].startswith("https://127.0.0.1:")
    assert settings["BOT_OAUTH_AUTHORITY"].endswith("/botframework.com")
    assert settings["BOT_ALLOWED_SERVICE_URLS"] == channel_process.connector_url
    assert settings["BOT_TOKEN_ISSUER"] == "https://api.botframework.com"
    assert settings["BOT_OAUTH_SCOPE"] == SCOPE
    assert settings["REQUESTS_CA_BUNDLE"].endswith("ca-bundle.pem")
    assert settings["MicrosoftAppPassword"]

    async with ChannelControl(channel_process.connector_url) as control:
        info = await control.info()
        assert info["openIdMetadataUrl"] == settings["BOT_OPENID_METADATA_URL"]
        token = await control.channel_token(defect=TokenDefect.WRONG_AUDIENCE)
        assert jwt.decode(token, options={"verify_signature": False})["aud"] != info["appId"]
        async with (
            aiohttp.ClientSession() as session,
            session.get(settings["BOT_OPENID_METADATA_URL"]) as metadata,
        ):
            assert (await metadata.json())["issuer"] == "https://api.botframework.com"
        with pytest.raises(ChannelControlError) as unreachable:
            await control.say(None, "nobody listens on port 9")
        assert unreachable.value.code == "BotUnreachable"

    work_dir = Path(channel_process.state["workDir"])
    assert channel_process.stop() == 0
    leftovers = await asyncio.to_thread(
        lambda: [path for path in (channel_process.state_file, work_dir) if path.exists()]
    )
    assert leftovers == []


async def test_the_control_api_refuses_other_sites(
    channel: RunningChannel, http: aiohttp.ClientSession
) -> None:
    url = channel.connector_url + "/_channel/clear"

    async with http.post(url, headers={"Origin": "http://evil.example"}) as cross_origin:
        assert cross_origin.status == 403
    async with http.get(url.replace("clear", "info"), headers={"Host": "evil.example"}) as rebound:
        assert rebound.status == 403
    async with http.post(url) as own_script:
        assert own_script.status < 300
