"""``/api/schedules`` in process, against the Cosmos DB emulator: the contract's answers.

Each test works on conversations of its own (fresh ids), captured into the reference store the
way inbound turns capture them.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import azure.functions as func
import pytest

from bot.http.schedules import schedule, schedules
from bot.references import InactiveReason, ReferenceStore
from bot.schema import ConversationReference
from bot.settings import Settings

pytestmark = pytest.mark.services

BERLIN = ZoneInfo("Europe/Berlin")
SERVICE_URL = "https://smba.trafficmanager.net/emea/"
CLAIMS = {"aud": "00000000-0000-0000-0000-0000000000b0", "iss": "https://api.botframework.com"}


def reference(
    conversation_id: str,
    *,
    channel_id: str = "msteams",
    tenant_id: str | None = "tenant-1",
    user_id: str = "29:user",
    personal: bool = False,
) -> ConversationReference:
    return ConversationReference.from_wire(
        {
            "user": {"id": user_id, "name": "User"},
            "bot": {"id": "28:bot", "name": "Bot"},
            "conversation": {
                "id": conversation_id,
                "conversationType": "personal" if personal else "groupChat",
                "isGroup": not personal,
                "tenantId": tenant_id,
            },
            "channelId": channel_id,
            "serviceUrl": SERVICE_URL,
        }
    )


async def stored_conversation(**options: Any) -> str:
    conversation_id = f"19:{uuid.uuid4().hex}@thread.v2"
    await ReferenceStore().capture(
        reference(conversation_id, **options), CLAIMS, now=datetime.now(UTC)
    )
    return conversation_id


def request(
    method: str,
    path: str = "",
    body: Any = None,
    *,
    params: dict[str, str] | None = None,
    raw: bytes | None = None,
    content_type: str = "application/json",
) -> func.HttpRequest:
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    return func.HttpRequest(
        method=method,
        url=f"http://127.0.0.1/api/schedules{'/' + path if path else ''}",
        headers={"Content-Type": content_type},
        params=params or {},
        route_params={"id": path} if path else {},
        body=data,
    )


async def call(req: func.HttpRequest) -> tuple[int, Any]:
    handler = schedule if req.route_params else schedules
    response = await handler(req)
    body = response.get_body()
    return response.status_code, json.loads(body) if body else None


def schedule_body(conversation_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "conversation": {"channelId": "msteams", "conversationId": conversation_id},
        "cron": "0 0 9 * * Mon-Fri",
        "timeZone": "Europe/Berlin",
        "activities": [{"type": "message", "text": "Good morning"}],
        **fields,
    }


async def listed(conversation_id: str, **params: str) -> list[dict[str, Any]]:
    status, body = await call(request("GET", params={"conversationId": conversation_id, **params}))
    assert status == 200
    return list(body["schedules"])


async def test_create_read_list_change_and_delete(bot_settings: Settings) -> None:
    conversation_id = await stored_conversation()

    status, created = await call(
        request("POST", body=schedule_body(conversation_id, name="stand-up", team="blue"))
    )
    assert status == 201, created
    schedule_id = created["id"]
    assert created["team"] == "blue"  # unknown fields are kept
    assert created["conversation"] == {
        "channelId": "msteams",
        "conversationId": conversation_id,
        "tenantId": "tenant-1",  # the resolved conversation, so it can never turn ambiguous
    }
    assert created["runCount"] == 0
    assert created["lastRunAt"] is None
    next_run = datetime.fromisoformat(created["nextRunAt"]).astimezone(BERLIN)
    assert next_run > datetime.now(UTC)
    assert (next_run.strftime("%H:%M"), next_run.isoweekday() <= 5) == ("09:00", True)

    assert await call(request("GET", schedule_id)) == (200, created)
    assert [item["id"] for item in await listed(conversation_id)] == [schedule_id]
    assert [item["id"] for item in await listed(conversation_id, channelId="msteams")] == [
        schedule_id
    ]
    assert await listed(conversation_id, channelId="slack") == []

    status, renamed = await call(request("PATCH", schedule_id, {"name": "daily stand-up"}))
    assert status == 200
    assert renamed["name"] == "daily stand-up"
    assert renamed["nextRunAt"] == created["nextRunAt"]
    status, moved = await call(
        request("PATCH", schedule_id, {"cron": "0 30 10 * * *", "team": None})
    )
    assert status == 200
    assert moved["cron"] == "0 30 10 * * *"
    assert "team" not in moved
    moved_run = datetime.fromisoformat(moved["nextRunAt"]).astimezone(BERLIN)
    assert moved_run.strftime("%H:%M") == "10:30"
    status, paused = await call(request("PATCH", schedule_id, {"enabled": False}))
    assert (status, paused["enabled"], paused["nextRunAt"]) == (200, False, None)

    assert await call(request("DELETE", schedule_id)) == (204, None)
    status, error = await call(request("GET", schedule_id))
    assert (status, error["error"]["code"]) == (404, "ScheduleNotFound")
    assert (await call(request("DELETE", schedule_id)))[0] == 404
    assert await listed(conversation_id) == []


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"cron": "0 0 25 * * *"}, 400, "InvalidCron", "cron"),
        ({"cron": "* * * * * *"}, 400, "IntervalTooShort", "cron"),
        ({"cron": "0,30 * * * * *"}, 400, "IntervalTooShort", "cron"),
        ({"timeZone": "Europe/Atlantis"}, 400, "UnknownTimeZone", "timeZone"),
        ({"nextRunAt": "2026-01-01T00:00:00Z"}, 400, "ReadOnlyField", "nextRunAt"),
        ({"runCount": 5}, 400, "ReadOnlyField", "runCount"),
        ({"activities": []}, 400, "InvalidSchedule", "activities"),
        ({"id": "bad id!"}, 400, "InvalidSchedule", "id"),
        (
            {"user": {"channelId": "msteams", "userId": "29:x"}},
            400,
            "InvalidSchedule",
            "conversation/user/teamsChannel",
        ),
    ],
)
async def test_bad_input_is_a_400_naming_the_field_and_nothing_is_stored(
    bot_settings: Settings, change: dict[str, Any], status: int, code: str, field: str
) -> None:
    conversation_id = await stored_conversation()

    answer, body = await call(request("POST", body=schedule_body(conversation_id, **change)))

    assert (answer, body["error"]["code"]) == (status, code)
    assert body["error"]["message"].startswith(f"{field}:"), body
    assert set(body["error"]) == {"code", "message"}
    assert await listed(conversation_id) == []


async def test_an_unknown_target_is_a_400(bot_settings: Settings) -> None:
    unknown = f"19:{uuid.uuid4().hex}@thread.v2"
    status, body = await call(request("POST", body=schedule_body(unknown)))
    assert (status, body["error"]["code"]) == (400, "TargetNotFound")
    assert body["error"]["message"].startswith("conversation:")

    user = {"user": {"channelId": "msteams", "userId": f"29:{uuid.uuid4().hex}"}}
    body_for_user = {**schedule_body(unknown), **user}
    del body_for_user["conversation"]
    status, body = await call(request("POST", body=body_for_user))
    assert (status, body["error"]["code"]) == (400, "TargetNotFound")
    assert body["error"]["message"].startswith("user:")
    assert await listed(unknown) == []


async def test_a_user_target(bot_settings: Settings) -> None:
    user_id = f"29:{uuid.uuid4().hex}"
    await stored_conversation(user_id=user_id, personal=True)
    body = schedule_body("unused", user={"channelId": "msteams", "userId": user_id})
    del body["conversation"]

    status, created = await call(request("POST", body=body))

    assert status == 201, created
    assert created["user"] == {"channelId": "msteams", "userId": user_id}
    status, page = await call(request("GET", params={"userId": user_id}))
    assert [item["id"] for item in page["schedules"]] == [created["id"]]


async def test_an_ambiguous_conversation_is_a_409_and_an_inactive_one_a_403(
    bot_settings: Settings,
) -> None:
    shared = f"19:{uuid.uuid4().hex}@thread.v2"
    store = ReferenceStore()
    for channel in ("msteams", "webchat"):
        await store.capture(reference(shared, channel_id=channel), CLAIMS, now=datetime.now(UTC))
    body = schedule_body(shared)
    del body["conversation"]["channelId"]
    status, error = await call(request("POST", body=body))
    assert (status, error["error"]["code"]) == (409, "AmbiguousConversation")

    retired = await stored_conversation()
    await store.mark_inactive(reference(retired), InactiveReason.UNINSTALLED, now=datetime.now(UTC))
    status, error = await call(request("POST", body=schedule_body(retired)))
    assert (status, error["error"]["code"]) == (403, "ConversationInactive")
    assert await listed(shared) == []
    assert await listed(retired) == []


async def test_a_client_id_makes_a_retried_create_safe(bot_settings: Settings) -> None:
    conversation_id = await stored_conversation()
    schedule_id = f"report-{uuid.uuid4().hex[:8]}"
    body = schedule_body(conversation_id, id=schedule_id)

    assert (await call(request("POST", body=body)))[0] == 201
    status, error = await call(request("POST", body=body))

    assert (status, error["error"]["code"]) == (409, "ScheduleExists")
    assert len(await listed(conversation_id)) == 1


async def test_unknown_ids_are_404(bot_settings: Settings) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        status, body = await call(request(method, f"missing-{uuid.uuid4().hex[:6]}", {}))
        assert (status, body["error"]["code"]) == (404, "ScheduleNotFound")
    assert (await call(request("GET", "not:valid")))[0] == 404


async def test_a_bad_patch_changes_nothing(bot_settings: Settings) -> None:
    conversation_id = await stored_conversation()
    _, created = await call(request("POST", body=schedule_body(conversation_id)))

    for patch, code in (
        ({"cron": "* * * * * *"}, "IntervalTooShort"),
        ({"timeZone": "Nowhere/Land"}, "UnknownTimeZone"),
        ({"lastRunAt": None}, "ReadOnlyField"),
        ({"id": "other"}, "InvalidSchedule"),
        ({"conversation": {"conversationId": "19:unknown"}}, "TargetNotFound"),
    ):
        status, error = await call(request("PATCH", created["id"], patch))
        assert (status, error["error"]["code"]) == (400, code), patch
    assert await call(request("GET", created["id"])) == (200, created)


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "InvalidJson"),
        (b"[1, 2]", "application/json", 400, "InvalidJson"),
        (b"\xff\xfe", "application/json", 400, "InvalidJson"),
        (b"{}", "text/plain", 415, "UnsupportedMediaType"),
        (b" " * (256 * 1024 + 1), "application/json", 413, "PayloadTooLarge"),
    ],
)
async def test_bad_bodies(
    bot_settings: Settings, raw: bytes, content_type: str, status: int, code: str
) -> None:
    answer, body = await call(request("POST", raw=raw, content_type=content_type))
    assert (answer, body["error"]["code"]) == (status, code)


async def test_listing_pages(bot_settings: Settings) -> None:
    conversation_id = await stored_conversation()
    ids = []
    for _ in range(3):
        _, created = await call(request("POST", body=schedule_body(conversation_id)))
        ids.append(created["id"])

    status, first = await call(
        request("GET", params={"conversationId": conversation_id, "pageSize": "2"})
    )
    assert status == 200
    assert len(first["schedules"]) == 2
    assert first["continuation"]
    status, second = await call(
        request(
            "GET",
            params={
                "conversationId": conversation_id,
                "pageSize": "2",
                "continuation": first["continuation"],
            },
        )
    )
    assert status == 200
    assert second["continuation"] is None
    seen = [item["id"] for item in first["schedules"] + second["schedules"]]
    assert sorted(seen) == sorted(ids)

    for params in ({"pageSize": "0"}, {"pageSize": "x"}, {"continuation": "%%%"}):
        status, error = await call(request("GET", params=params))
        assert (status, error["error"]["code"]) == (400, "InvalidQuery"), params
