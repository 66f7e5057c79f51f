"""Reaching anyone in Teams through the real host (auth ON), against the local channel playing
Teams: users by Entra object id who never wrote, channels and their threads, and the bot's
lifecycle in a team (docs/targets.md).

Teams are made on the local channel with the bot added, so the bot captures the team through
the real ``/api/messages`` pipeline; sends go through ``POST /api/sendactivity`` and the
proactive queue trigger.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from dev.channel import ChannelControl
from dev.stack import LocalStack
from tests.e2e.host_api import Api
from tests.e2e.side_hosts import side_host
from tests.e2e.test_hostile_input import put_and_read_poison

pytestmark = pytest.mark.e2e

BROADCAST_DEADLINE_SECONDS = 120.0


def send_body(target: dict[str, Any], text: str, **fields: Any) -> dict[str, Any]:
    return {**target, "activity": {"type": "message", "text": text}, **fields}


def aad_user(team: dict[str, Any], index: int) -> dict[str, Any]:
    member = team["members"][index]
    return {
        "user": {
            "channelId": "msteams",
            "tenantId": team["tenantId"],
            "aadObjectId": member["aadObjectId"],
        }
    }


def channel_target(team: dict[str, Any], index: int, reply_to: str | None = None) -> dict[str, Any]:
    target = {
        "tenantId": team["tenantId"],
        "teamId": team["id"],
        "channelId": team["channels"][index]["id"],
    }
    if reply_to is not None:
        target["replyToId"] = reply_to
    return {"teamsChannel": target}


async def poisoned(stack: LocalStack, target: dict[str, Any]) -> Any:
    """Put a message to ``target`` on the session host's queue; its poison message."""
    marker = f"e2e-poison-{uuid.uuid4().hex}"
    message = {
        "version": 1,
        "id": marker,
        **target,
        "activities": [{"type": "message", "text": "x"}],
    }
    host = stack.host
    return await put_and_read_poison(
        host, host.environment["PROACTIVE_QUEUE_NAME"], json.dumps(message), marker
    )


async def creations(channel: ChannelControl) -> list[dict[str, Any]]:
    return [r for r in await channel.requests() if r["operation"] == "createConversation"]


async def test_a_user_who_never_wrote_is_reached_by_object_id_in_one_new_chat(
    channel: ChannelControl, api: Api
) -> None:
    team = await channel.create_team(name="Reach", members=2)
    assert team["installed"]["status"] < 300
    member = team["members"][0]
    before = len(await creations(channel))

    status, _, first = await api.call(
        "POST", "/api/sendactivity", send_body(aad_user(team, 0), "first")
    )
    assert status == 200, first
    assert first["conversationCreated"] is True
    conversation_id = first["conversationId"]
    [record] = await channel.activities(conversation_id)
    assert record["activity"]["text"] == "first"
    assert record["authorized"] is True
    chat = next(c for c in await channel.conversations() if c["id"] == conversation_id)
    assert chat["conversationType"] == "personal"
    assert member["id"] in [account["id"] for account in chat["members"]]

    status, _, second = await api.call(
        "POST", "/api/sendactivity", send_body(aad_user(team, 0), "second")
    )
    assert status == 200, second
    assert second["conversationId"] == conversation_id
    assert "conversationCreated" not in second
    assert len(await creations(channel)) == before + 1


async def test_the_same_message_three_times_twice_at_once_creates_one_chat_and_sends_once(
    channel: ChannelControl, api: Api
) -> None:
    team = await channel.create_team(name="Once", members=1)
    before = len(await creations(channel))
    message = {
        "version": 1,
        "id": f"e2e-aad-{uuid.uuid4().hex}",
        **aad_user(team, 0),
        "activities": [{"type": "message", "text": "exactly once"}],
    }
    await asyncio.gather(api.enqueue(message), api.enqueue(message))
    receipt = await api.final_receipt(message["id"])
    await api.enqueue(message)
    await api.queue_drained()

    assert receipt["status"] == "Delivered", receipt
    assert receipt["conversationCreated"] is True
    assert receipt["conversationId"].startswith("a:")
    sent = [
        r for r in await channel.activities() if (r["activity"] or {}).get("text") == "exactly once"
    ]
    assert len(sent) == 1
    assert len(await creations(channel)) == before + 1


async def test_a_channel_gets_a_new_thread_and_a_reply_goes_into_its_thread(
    channel: ChannelControl, api: Api
) -> None:
    team = await channel.create_team(name="Threads", channels=["Announcements"])
    announcements = team["channels"][1]["id"]

    status, _, posted = await api.call(
        "POST", "/api/sendactivity", send_body(channel_target(team, 1), "new thread")
    )
    assert status == 200, posted
    [root] = await channel.activities(announcements)
    assert root["operation"] == "sendToConversation"
    root_id = posted["activityIds"][0]

    status, _, replied = await api.call(
        "POST", "/api/sendactivity", send_body(channel_target(team, 1, root_id), "a reply")
    )
    assert status == 200, replied
    thread = f"{announcements};messageid={root_id}"
    [reply] = await channel.activities(thread)
    assert reply["activity"]["text"] == "a reply"
    assert replied["conversationId"] == thread


async def test_threads_the_bot_is_mentioned_in_are_stored_as_their_channel(
    channel: ChannelControl, api: Api
) -> None:
    team = await channel.create_team(name="Mentions", channels=["Support"])
    support = team["channels"][1]["id"]
    threads = [await channel.channel_message(team["id"], support, f"hi {n}") for n in range(3)]
    assert all(thread["bot"]["status"] < 300 for thread in threads)

    stored = await api.reference(support)
    assert stored["conversationType"] == "channel"
    assert stored["reference"]["conversation"]["id"] == support
    for thread in threads:
        status, _, body = await api.call(
            "GET",
            "/api/references?channelId=msteams&conversationId="
            + quote(thread["conversationId"], safe=""),
        )
        assert status == 404, body


async def test_a_deleted_channel_and_a_removed_bot_fail_at_once_and_re_adding_revives(
    channel: ChannelControl, api: Api
) -> None:
    team = await channel.create_team(name="Lifecycle", channels=["Gone", "Kept"])
    gone, kept = team["channels"][1]["id"], team["channels"][2]["id"]
    await channel.channel_message(team["id"], gone, "hello")
    await channel.channel_message(team["id"], kept, "hello")

    await channel.team_event(team["id"], "channelDeleted", channel_id=gone)
    requests_before = len(await channel.requests(gone))
    status, _, body = await api.call(
        "POST", "/api/sendactivity", send_body(channel_target(team, 1), "to a deleted channel")
    )
    assert status == 403, body
    assert (body["error"]["code"], body["error"]["reason"]) == (
        "ConversationInactive",
        "ChannelDeleted",
    )
    assert len(await channel.requests(gone)) == requests_before

    await channel.team_event(team["id"], "botRemoved")
    status, _, body = await api.call(
        "POST", "/api/sendactivity", send_body(channel_target(team, 2), "after removal")
    )
    assert status == 403, body
    assert body["error"]["reason"] == "BotRemoved"
    assert await channel.activities(kept) == []

    await channel.team_event(team["id"], "botAdded")
    status, _, body = await api.call(
        "POST", "/api/sendactivity", send_body(channel_target(team, 2), "back again")
    )
    assert status == 200, body


async def test_a_deleted_team_retires_its_channels_and_a_restored_one_revives_them(
    channel: ChannelControl, api: Api
) -> None:
    team = await channel.create_team(name="Restore", channels=["News"])
    news = team["channels"][1]["id"]
    await channel.channel_message(team["id"], news, "hello")

    await channel.team_event(team["id"], "teamDeleted")
    status, _, body = await api.call(
        "POST", "/api/sendactivity", send_body(channel_target(team, 1), "deleted")
    )
    assert (status, body["error"]["reason"]) == (403, "TeamDeleted")

    await channel.team_event(team["id"], "teamRestored")
    status, _, body = await api.call(
        "POST", "/api/sendactivity", send_body(channel_target(team, 1), "restored")
    )
    assert status == 200, body


@pytest.mark.parametrize(
    ("target", "named"),
    [
        ({"user": {"channelId": "msteams", "aadObjectId": str(uuid.uuid4())}}, "tenantId"),
        (
            {"user": {"channelId": "msteams", "tenantId": "t", "aadObjectId": "not-a-guid"}},
            "aadObjectId",
        ),
        ({"teamsChannel": {"tenantId": "t", "channelId": "19:c@thread.tacv2"}}, "teamId"),
        (
            {
                "conversationId": "a:1",
                "teamsChannel": {"tenantId": "t", "teamId": "x", "channelId": "y"},
            },
            "conversationId, teamsChannel",
        ),
    ],
)
async def test_missing_or_conflicting_target_fields_are_refused_naming_the_field(
    api: Api, e2e_stack: LocalStack, target: dict[str, Any], named: str
) -> None:
    status, _, body = await api.call("POST", "/api/sendactivity", send_body(target, "x"))
    assert status == 400, body
    details = body["error"]["details"]
    assert any(named in d["field"] or named in d["message"] for d in details), details

    queued = {key: value for key, value in target.items() if key != "conversationId"}
    if "conversationId" in target:
        queued["conversation"] = {"conversationId": "a:1"}
    reason = (await poisoned(e2e_stack, queued))["reason"]
    assert reason["code"] == "InvalidMessage", reason
    assert reason["dequeueCount"] == 1
    expected = "conversation, teamsChannel" if "conversationId" in target else named
    assert expected in reason["message"], reason


async def test_a_team_audience_reaches_every_member_once_one_to_one_without_a_429(
    channel: ChannelControl, api: Api
) -> None:
    team = await channel.create_team(name="Everyone", members=30)
    members = team["members"]
    # One member already has a chat with the bot: it is reused, the others are started.
    reused = await channel.start_conversation(user_id=members[0]["id"])
    audience = {"channelId": "msteams", "tenantId": team["tenantId"], "teamId": team["id"]}
    body = {"audience": audience, "activity": {"type": "message", "text": "to the team"}}

    status, _, dry = await api.call("POST", "/api/broadcasts", {**body, "dryRun": True})
    assert (status, dry["total"]) == (200, 30), dry

    before = len(await creations(channel))
    since = max((r["sequence"] for r in await channel.requests()), default=0)
    await channel.set_rate_limits(True, reset=True)
    try:
        status, _, started = await api.call("POST", "/api/broadcasts", body)
        assert status == 202, started
        progress = await api.finished_broadcast(started["operationId"])
    finally:
        await channel.set_rate_limits(False, reset=True)

    assert (progress["sent"], progress["failed"]) == (30, 0), progress
    sent = [
        r for r in await channel.activities() if (r["activity"] or {}).get("text") == "to the team"
    ]
    # A started chat names the user by object id, a captured one by 29: id: both are them.
    recipients = sorted(
        (r["activity"]["recipient"].get("aadObjectId") or r["activity"]["recipient"]["id"]).lower()
        for r in sent
    )
    by_id = {member["id"]: member["aadObjectId"] for member in members}
    recipients = sorted(by_id.get(recipient, recipient) for recipient in recipients)
    assert recipients == sorted(member["aadObjectId"] for member in members)
    assert reused["conversationId"] in [r["conversationId"] for r in sent]
    assert len(await creations(channel)) == before + 29
    # Zero 429s for this broadcast: its chats, and the creations (other tests' late retries
    # may still meet the limits elsewhere).
    chats = {r["conversationId"] for r in sent}
    throttled = [
        r
        for r in await channel.requests()
        if r["sequence"] > since
        and r["status"] == 429
        and (r["conversationId"] in chats or r["operation"] == "createConversation")
    ]
    assert throttled == []


async def test_a_channel_audience_posts_once_per_channel_however_many_threads(
    channel: ChannelControl, api: Api
) -> None:
    team = await channel.create_team(name="Broadcast", channels=["One", "Two"])
    one, two = team["channels"][1]["id"], team["channels"][2]["id"]
    for channel_id in (one, one, one, two):
        await channel.channel_message(team["id"], channel_id, "mention")
    audience = {
        "channelId": "msteams",
        "tenantId": team["tenantId"],
        "conversationTypes": ["channel"],
    }
    text = f"to every channel {uuid.uuid4().hex}"
    status, _, started = await api.call(
        "POST",
        "/api/broadcasts",
        {"audience": audience, "activity": {"type": "message", "text": text}},
    )
    assert status == 202, started
    await api.finished_broadcast(started["operationId"])

    sent = [r for r in await channel.activities() if (r["activity"] or {}).get("text") == text]
    targets = [r["conversationId"] for r in sent]
    assert sorted(t for t in targets if t in (one, two, team["id"])) == sorted(
        [one, two, team["id"]]
    )
    assert all(";messageid=" not in target for target in targets)
    assert all(r["activity"]["conversation"]["conversationType"] == "channel" for r in sent)


async def test_adding_the_bot_to_a_team_stores_the_team_and_every_channel_at_once(
    channel: ChannelControl, api: Api
) -> None:
    team = await channel.create_team(name="Stored", channels=["Quiet", "Busy"])

    for listed in team["channels"]:
        stored = await api.reference(listed["id"])
        assert stored["active"] is True
        assert stored["conversationType"] == "channel"
        assert stored["reference"]["conversation"]["id"] == listed["id"]
    fetched = [
        r for r in await channel.requests(team["id"]) if r["operation"] == "fetchChannelList"
    ]
    assert len(fetched) == 1


async def test_a_personal_uninstall_retires_the_chat_and_a_reinstall_revives_it(
    channel: ChannelControl, api: Api
) -> None:
    team = await channel.create_team(name="Personal", members=1)
    status, _, first = await api.call(
        "POST", "/api/sendactivity", send_body(aad_user(team, 0), "hello")
    )
    assert status == 200, first
    chat = first["conversationId"]

    await channel.installation(chat, "remove")
    requests_before = len(await channel.requests(chat))
    status, _, body = await api.call(
        "POST", "/api/sendactivity", send_body(aad_user(team, 0), "after uninstall")
    )
    assert (status, body["error"]["reason"]) == (403, "Uninstalled"), body
    assert len(await channel.requests(chat)) == requests_before

    await channel.installation(chat, "add")
    status, _, body = await api.call(
        "POST", "/api/sendactivity", send_body(aad_user(team, 0), "after reinstall")
    )
    assert status == 200, body
    assert body["conversationId"] == chat


def by_name(team: dict[str, Any], index: int) -> dict[str, Any]:
    member = team["members"][index]
    return {
        "user": {
            "channelId": "msteams",
            "tenantId": team["tenantId"],
            "userPrincipalName": member["userPrincipalName"].upper(),
        }
    }


async def operations(channel: ChannelControl, name: str) -> list[dict[str, Any]]:
    return [r for r in await channel.requests() if r["operation"] == name]


async def answered_lookups(channel: ChannelControl) -> list[dict[str, Any]]:
    return [r for r in await operations(channel, "graphGetUser") if r["authorized"]]


async def test_a_user_by_name_is_looked_up_once_and_reached_in_one_new_chat(
    channel: ChannelControl, api: Api
) -> None:
    team = await channel.create_team(name="Names", members=1)
    lookups = len(await answered_lookups(channel))
    created = len(await creations(channel))

    answers = []
    for text in ("by name", "by name again"):
        status, _, body = await api.call(
            "POST", "/api/sendactivity", send_body(by_name(team, 0), text)
        )
        assert status == 200, body
        answers.append(body)

    assert answers[0]["conversationId"] == answers[1]["conversationId"]
    # Lookups Graph answered: a Graph token cached before an earlier test revoked the issuer's
    # keys is refused once and replaced, which is not a second lookup.
    graph = await answered_lookups(channel)
    assert len(graph) == lookups + 1
    assert (graph[-1]["authorizationScheme"], graph[-1]["authorized"]) == ("Bearer", True)
    assert len(await creations(channel)) == created + 1


async def test_an_unknown_name_is_a_404_and_a_poisoned_message(
    channel: ChannelControl, api: Api, e2e_stack: LocalStack
) -> None:
    unknown = {
        "user": {
            "channelId": "msteams",
            "tenantId": (await channel.info())["tenantId"],
            "userPrincipalName": f"nobody-{uuid.uuid4().hex[:8]}@contoso.example",
        }
    }
    status, _, body = await api.call("POST", "/api/sendactivity", send_body(unknown, "x"))
    assert (status, body["error"]["code"]) == (404, "UserNotFound"), body

    poison = await poisoned(e2e_stack, unknown)
    assert poison["reason"]["code"] == "UserNotFound", poison


async def test_without_the_app_and_the_install_setting_off_the_receipt_says_why_once(
    channel: ChannelControl, api: Api
) -> None:
    team = await channel.create_team(name="NoApp", members=1, install_bot=False)
    message = {
        "version": 1,
        "id": f"e2e-noapp-{uuid.uuid4().hex}",
        **aad_user(team, 0),
        "activities": [{"type": "message", "text": "never arrives"}],
    }
    installs = len(await operations(channel, "graphInstallApp"))
    await api.enqueue(message)
    receipt = await api.final_receipt(message["id"])

    assert receipt["status"] == "Failed", receipt
    assert receipt["lastError"]["code"] == "Forbidden"
    assert receipt["attempts"] == 1
    member = team["members"][0]["aadObjectId"]
    refused = [
        r
        for r in await creations(channel)
        if r["status"] == 403 and r["activity"]["members"][0]["id"] == member
    ]
    assert len(refused) == 1  # refused once, never retried
    assert len(await operations(channel, "graphInstallApp")) == installs


async def test_without_the_app_and_the_install_setting_on_it_is_installed_and_arrives(
    channel: ChannelControl, e2e_stack: LocalStack
) -> None:
    team = await channel.create_team(name="InstallMe", members=1, install_bot=False)
    installs = len(await operations(channel, "graphInstallApp"))
    changes = {"GRAPH_INSTALL_APP": "true", "TEAMS_APP_CATALOG_ID": "local-teams-app"}
    with side_host(e2e_stack, "graph-install", changes) as host:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                host.url + "/api/sendactivity",
                json=send_body(by_name(team, 0), "installed for you"),
                timeout=aiohttp.ClientTimeout(30),
            ) as response,
        ):
            status, body = response.status, await response.json()

    assert status == 200, body
    assert body["conversationCreated"] is True
    [record] = await channel.activities(body["conversationId"])
    assert record["activity"]["text"] == "installed for you"
    assert len(await operations(channel, "graphInstallApp")) == installs + 1


async def test_schedules_take_the_new_targets_and_start_the_chat_at_the_first_occurrence(
    channel: ChannelControl, api: Api
) -> None:
    team = await channel.create_team(name="Scheduled", channels=["Daily"], members=1)
    text_user, text_channel = f"standup {uuid.uuid4().hex[:6]}", f"digest {uuid.uuid4().hex[:6]}"
    created: list[str] = []
    for target, text in ((by_name(team, 0), text_user), (channel_target(team, 1), text_channel)):
        body = {
            **target,
            "cron": "* * * * * *",
            "activities": [{"type": "message", "text": text}],
        }
        status, _, schedule = await api.call("POST", "/api/schedules", body)
        assert status == 201, schedule
        created.append(schedule["id"])
    daily = team["channels"][1]["id"]
    try:
        await channel.wait_for_activities(daily, 1)
        deadline = time.monotonic() + BROADCAST_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            sent = [
                r
                for r in await channel.activities()
                if (r["activity"] or {}).get("text") == text_user
            ]
            if sent:
                break
            await asyncio.sleep(0.5)
        assert sent, "the user's occurrence did not arrive"
        chat = next(
            c for c in await channel.conversations() if c["id"] == sent[0]["conversationId"]
        )
        assert chat["conversationType"] == "personal"
    finally:
        for schedule_id in created:
            assert (await api.call("DELETE", f"/api/schedules/{schedule_id}"))[0] == 204
    posts = await channel.activities(daily)
    assert {r["activity"]["text"] for r in posts} == {text_channel}
    assert all(r["conversationId"] == daily for r in posts)  # each occurrence a new thread


async def test_a_schedule_for_an_unknown_channel_target_field_is_refused_naming_it(
    api: Api,
) -> None:
    body = {
        "teamsChannel": {"tenantId": "t", "channelId": "19:x@thread.tacv2"},
        "cron": "0 0 9 * * *",
        "activities": [{"type": "message", "text": "x"}],
    }
    status, _, error = await api.call("POST", "/api/schedules", body)
    assert status == 400, error
    assert "teamId" in error["error"]["message"]


async def test_a_graph_token_the_graph_refuses_is_replaced_once(
    channel: ChannelControl, api: Api
) -> None:
    team = await channel.create_team(name="Revoked", members=1)
    status, _, body = await api.call(
        "POST", "/api/sendactivity", send_body(by_name(team, 0), "warm")
    )
    assert status == 200, body
    other = await channel.create_team(name="Revoked2", members=1)
    await channel.revoke_tokens()
    since = max((r["sequence"] for r in await channel.requests()), default=0)

    status, _, body = await api.call(
        "POST", "/api/sendactivity", send_body(by_name(other, 0), "after")
    )

    assert status == 200, body
    lookups = [r for r in await operations(channel, "graphGetUser") if r["sequence"] > since]
    assert [r["status"] for r in lookups] == [401, 200]
