"""Schedule documents and the tick's decisions about them, without Cosmos DB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.references import ReferenceStore
from bot.schedules.documents import (
    Pending,
    claimed_document,
    confirmed_document,
    missed_document,
    new_document,
    plan_tick,
    schedule_of,
    updated_document,
)
from bot.schedules.messages import occurrence_id, occurrence_message
from bot.schedules.service import ScheduleRequestError, ScheduleService, validate_fields
from bot.schedules.store import ScheduleStore
from bot.schedules.tick import tick_timing

NOW = datetime(2026, 11, 23, 7, 59, 30, tzinfo=UTC)  # 08:59:30 in Berlin, a Monday
NINE = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
TOLERANCE = timedelta(minutes=2)
BODY: dict[str, Any] = {
    "conversation": {"channelId": "msteams", "conversationId": "a:1x2y3z"},
    "cron": "0 0 9 * * *",
    "timeZone": "Europe/Berlin",
    "activities": [{"type": "message", "text": "It is {localTime} on {weekday}"}],
    "note": "kept",
}


def stored(body: dict[str, Any] | None = None, now: datetime = NOW) -> dict[str, Any]:
    document = new_document("sched-1", validate_fields(body or BODY), now)
    return {**document, "_etag": '"1"', "_rid": "rid", "_ts": 1}


def claimed(document: dict[str, Any], now: datetime) -> dict[str, Any]:
    plan = plan_tick(document, now, TOLERANCE)
    assert plan.firing is not None
    assert plan.firing.send
    message = occurrence_message(schedule_of(document), plan.firing.latest)
    body = claimed_document(
        document, plan.firing, message, now=now, retry_at=now + timedelta(minutes=2)
    )
    return {**body, "_etag": '"2"'}


def test_a_new_document() -> None:
    document = stored()
    assert document["id"] == "sched-1"
    assert document["nextRunAt"] == "2026-11-23T08:00:00.000000Z"
    assert document["runCount"] == 0
    assert document["lastRunAt"] is None
    assert document["note"] == "kept"
    assert "pending" not in document
    schedule = schedule_of(document)
    assert schedule.next_run_at == NINE
    assert schedule.to_api()["nextRunAt"] == "2026-11-23T08:00:00Z"


def test_a_disabled_schedule_has_no_next_run() -> None:
    assert stored({**BODY, "enabled": False})["nextRunAt"] is None


def test_nothing_is_due_before_the_next_run() -> None:
    plan = plan_tick(stored(), NOW, TOLERANCE)
    assert plan.recover is None
    assert plan.firing is None


def test_a_claim_advances_counts_and_keeps_the_occurrence_pending() -> None:
    document = claimed(stored(), NINE + timedelta(seconds=3))
    assert document["nextRunAt"] == "2026-11-24T08:00:00.000000Z"
    assert document["lastRunAt"] == "2026-11-23T08:00:00.000000Z"
    assert document["runCount"] == 1
    pending = Pending.of(document)
    assert pending is not None
    assert pending.occurrence == NINE
    assert (
        pending.message_id == occurrence_id("sched-1", NINE) == "schedule:sched-1:20261123T080000Z"
    )
    assert pending.message["activities"] == [{"type": "message", "text": "It is 09:00 on Monday"}]
    assert pending.message["conversation"] == BODY["conversation"]
    assert pending.message["expiresAt"] == "2026-11-24T08:00:00Z"
    assert "_rid" not in document


def test_a_pending_occurrence_under_a_running_claim_blocks_the_next_one() -> None:
    document = claimed(stored(), NINE)
    # The next day's occurrence is due, but the claim's retryAt is not yet reached.
    document["pending"]["retryAt"] = "2026-11-24T08:10:00.000000Z"
    plan = plan_tick(document, NINE + timedelta(days=1, seconds=1), TOLERANCE)
    assert plan.recover is None
    assert plan.firing is None


def test_an_expired_claim_is_recovered_before_the_next_occurrence() -> None:
    document = claimed(stored(), NINE)
    later = NINE + timedelta(days=1, seconds=1)
    plan = plan_tick(document, later, TOLERANCE)
    assert plan.recover is not None
    assert plan.recover.occurrence == NINE
    assert plan.firing is not None
    assert plan.firing.latest == NINE + timedelta(days=1)


def test_confirming_removes_only_the_named_pending_occurrence() -> None:
    document = claimed(stored(), NINE)
    assert confirmed_document(document, "schedule:sched-1:other") is None
    confirmed = confirmed_document(document, occurrence_id("sched-1", NINE))
    assert confirmed is not None
    assert "pending" not in confirmed
    assert confirmed["runCount"] == 1
    assert confirmed_document(confirmed, occurrence_id("sched-1", NINE)) is None


def test_a_missed_occurrence_only_moves_the_next_run() -> None:
    document = stored({**BODY, "misfirePolicy": "skip"})
    plan = plan_tick(document, NINE + timedelta(hours=1), TOLERANCE)
    assert plan.firing is not None
    assert not plan.firing.send
    missed = missed_document(document, plan.firing)
    assert missed["nextRunAt"] == "2026-11-24T08:00:00.000000Z"
    assert missed["runCount"] == 0
    assert missed["lastRunAt"] is None


def test_an_update_of_the_text_keeps_the_timing_and_the_pending_occurrence() -> None:
    document = claimed(stored(), NINE)
    later = NINE + timedelta(hours=1)
    fields = validate_fields({**BODY, "activities": [{"type": "message", "text": "new"}]})
    updated = updated_document(document, fields, later)
    assert updated["nextRunAt"] == document["nextRunAt"]
    assert updated["pending"] == document["pending"]
    assert updated["runCount"] == 1
    assert updated["updatedAt"] == "2026-11-23T09:00:00.000000Z"
    assert updated["createdAt"] == document["createdAt"]


@pytest.mark.parametrize(
    ("change", "next_run_at"),
    [
        ({"cron": "0 30 9 * * *"}, "2026-11-24T08:30:00.000000Z"),
        ({"timeZone": "UTC"}, "2026-11-24T09:00:00.000000Z"),
        ({"enabled": False}, None),
    ],
)
def test_a_timing_change_recomputes_the_next_run_from_now(
    change: dict[str, Any], next_run_at: str | None
) -> None:
    document = stored()
    later = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # after today's 08:30 and 09:00 UTC
    updated = updated_document(document, validate_fields({**BODY, **change}), later)
    assert updated["nextRunAt"] == next_run_at


def test_re_enabling_does_not_send_what_was_missed_meanwhile() -> None:
    document = stored({**BODY, "enabled": False})
    week_later = NINE + timedelta(days=7, hours=1)
    updated = updated_document(document, validate_fields(BODY), week_later)
    assert updated["nextRunAt"] == "2026-12-01T08:00:00.000000Z"


def test_tick_timing_follows_the_timer() -> None:
    every_minute = tick_timing("0 * * * * *", NOW)
    assert every_minute.budget == timedelta(seconds=48)
    assert every_minute.tolerance == timedelta(minutes=2)
    every_second = tick_timing("* * * * * *", NOW)
    assert every_second.budget == timedelta(milliseconds=800)
    assert every_second.tolerance == timedelta(minutes=1)
    hourly = tick_timing("0 0 * * * *", NOW)
    assert hourly.budget == timedelta(minutes=4)
    assert hourly.tolerance == timedelta(hours=2)


@pytest.mark.parametrize("field", ["nextRunAt", "lastRunAt", "runCount", "createdAt"])
async def test_read_only_fields_are_refused_before_anything_is_read(field: str) -> None:
    with pytest.raises(ScheduleRequestError) as caught:
        await ScheduleService(store=ScheduleStore(), references=ReferenceStore()).create(
            {**BODY, field: None}
        )
    assert (caught.value.status, caught.value.code) == (400, "ReadOnlyField")
    assert caught.value.message.startswith(f"{field}:")


@pytest.mark.parametrize("schedule_id", ["", "a:b", "x" * 65, 12])
async def test_a_client_id_must_be_valid(schedule_id: object) -> None:
    with pytest.raises(ScheduleRequestError) as caught:
        await ScheduleService(store=ScheduleStore(), references=ReferenceStore()).create(
            {**BODY, "id": schedule_id}
        )
    assert caught.value.message.startswith("id:")
