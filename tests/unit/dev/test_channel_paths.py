"""Connector paths are split on the raw path, then each segment is decoded."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import pytest

from dev.channel.connector_paths import Operation, PathError, parse_connector_path
from dev.channel.faults import FaultPlan


@pytest.mark.parametrize(
    "conversation_id",
    ["a/b", "19:abc@thread.skype;messageid=17", "../../v3/conversations/other", "x?y#z", "sp ace"],
)
def test_encoded_conversation_id_is_one_segment(conversation_id: str) -> None:
    path = f"/v3/conversations/{quote(conversation_id, safe='')}/activities"
    route = parse_connector_path("POST", path)
    assert route.operation is Operation.SEND_TO_CONVERSATION
    assert route.conversation_id == conversation_id


def test_every_operation() -> None:
    base = "/v3/conversations"
    cases = [
        ("POST", base, Operation.CREATE_CONVERSATION, None, None),
        ("POST", f"{base}/c/activities/a%2F1", Operation.REPLY_TO_ACTIVITY, "c", "a/1"),
        ("PUT", f"{base}/c/activities/a1", Operation.UPDATE_ACTIVITY, "c", "a1"),
        ("DELETE", f"{base}/c/activities/a1", Operation.DELETE_ACTIVITY, "c", "a1"),
        ("GET", f"{base}/c/members", Operation.GET_MEMBERS, "c", None),
        ("GET", f"{base}/c/pagedmembers?pageSize=5", Operation.GET_PAGED_MEMBERS, "c", None),
    ]
    for method, path, operation, conversation_id, activity_id in cases:
        route = parse_connector_path(method, path)
        assert route.operation is operation, path
        assert route.conversation_id == conversation_id
        assert route.activity_id == activity_id
    member = parse_connector_path("GET", f"{base}/c/members/29%3A1")
    assert member.operation is Operation.GET_MEMBER
    assert member.member_id == "29:1"


def test_service_path_prefix() -> None:
    route = parse_connector_path("POST", "/teams/v3/conversations/c/activities", "/teams/")
    assert route.conversation_id == "c"
    with pytest.raises(PathError):
        parse_connector_path("POST", "/v3/conversations/c/activities", "/teams/")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/v3/conversations/a/b/activities", 404),  # unencoded "/" is not one id
        ("POST", "/v3/conversations//activities", 404),
        ("POST", "/v3/other", 404),
        ("GET", "/v3/conversations/c/activities", 405),
        ("PATCH", "/v3/conversations/c/activities/a", 405),
        ("POST", "/v3/conversations/%FF/activities", 400),
    ],
)
def test_bad_paths(method: str, path: str, status: int) -> None:
    with pytest.raises(PathError) as refused:
        parse_connector_path(method, path)
    assert refused.value.status == status


def test_faults_prefer_the_conversation_and_run_out() -> None:
    plan = FaultPlan()
    everywhere = plan.add(status=503, times=None)
    here = plan.add(status=429, retry_after=2, times=2, conversation_id="c")
    taken = [plan.take("c", "sendToConversation") for _ in range(3)]
    assert [fault.id if fault else None for fault in taken] == [here.id, here.id, everywhere.id]
    assert taken[0] is not None
    assert taken[0].error_code() == "Throttled"
    assert plan.take("other", "sendToConversation") is everywhere
    assert everywhere.used == 2
    only_create = plan.add(status=404, operation="createConversation")
    plan.remove(everywhere.id)
    assert plan.take("c", "sendToConversation") is None
    assert plan.take(None, "createConversation") is only_create
    assert plan.faults() == []


def test_faults_in_time_windows_make_an_outage_of_phases() -> None:
    now = [100.0]
    plan = FaultPlan(clock=lambda: now[0])
    unavailable = plan.add(status=503, retry_after=2, times=None, for_seconds=10)
    bad_gateway = plan.add(status=502, times=None, after_seconds=10, for_seconds=5)
    timeout = plan.add(status=504, times=None, after_seconds=15, for_seconds=5)

    def at(seconds: float) -> int | None:
        now[0] = 100.0 + seconds
        fault = plan.take("c", "sendToConversation")
        return fault.status if fault else None

    assert [at(t) for t in (0, 9.9, 10, 14.9, 15, 19.9, 20)] == [503, 503, 502, 502, 504, 504, None]
    assert plan.faults() == []
    assert [unavailable.used, bad_gateway.used, timeout.used] == [2, 2, 2]


async def test_removing_or_clearing_a_fault_ends_its_delays() -> None:
    plan = FaultPlan()
    removed = plan.add(delay_seconds=120, times=None)
    exhausted = plan.add(delay_seconds=120, times=1, conversation_id="c")
    assert plan.take("c", "sendToConversation") is exhausted  # used up, still delaying
    holding = [asyncio.create_task(fault.hold()) for fault in (removed, exhausted)]

    assert plan.remove(removed.id)
    await asyncio.wait_for(holding[0], 5)
    assert not holding[1].done()
    plan.clear()
    await asyncio.wait_for(holding[1], 5)


def test_fault_arguments_are_checked() -> None:
    plan = FaultPlan()
    with pytest.raises(ValueError, match="status"):
        plan.add(status=200)
    with pytest.raises(ValueError, match="location"):
        plan.add(status=302)
    with pytest.raises(ValueError, match="needs a status"):
        plan.add()
    assert plan.add(delay_seconds=0.5).status is None
    with pytest.raises(ValueError, match="forSeconds"):
        plan.add(status=503, for_seconds=0)
    with pytest.raises(ValueError, match="afterSeconds"):
        plan.add(status=503, after_seconds=-1)
