"""Validation of schedules: every mistake is a 400 naming its field; unknown fields are kept."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.schedules.records import (
    MAX_ACTIVITIES_JSON_BYTES,
    MisfirePolicy,
    Schedule,
    utc_text,
    valid_schedule_id,
)
from bot.schedules.service import ScheduleRequestError, merge_patch, validate_fields

VALID: dict[str, Any] = {
    "conversation": {"channelId": "msteams", "conversationId": "a:1x2y3z"},
    "cron": "0 0 9 * * Mon-Fri",
    "timeZone": "Europe/Berlin",
    "activities": [{"type": "message", "text": "Good morning, it is {weekday}"}],
}


def refused(body: dict[str, Any]) -> ScheduleRequestError:
    with pytest.raises(ScheduleRequestError) as caught:
        validate_fields(body)
    assert caught.value.status == 400
    return caught.value


def test_defaults() -> None:
    fields = validate_fields({**VALID, "timeZone": "UTC"} | {"cron": "0 9 * * *"})
    assert fields.enabled
    assert fields.misfire_policy is MisfirePolicy.SEND_LATEST
    assert fields.misfire_grace_seconds == 600
    assert fields.zone is None
    assert fields.start_at is None
    assert fields.end_at is None


def test_unknown_fields_are_kept_on_the_wire() -> None:
    fields = validate_fields({**VALID, "owner": {"team": "finance"}, "color": "red"})
    wire = fields.fields_wire()
    assert wire["owner"] == {"team": "finance"}
    assert wire["color"] == "red"
    assert wire["timeZone"] == "Europe/Berlin"
    assert wire["activities"] == VALID["activities"]


def test_the_cron_is_normalised_and_named_on_error() -> None:
    assert validate_fields({**VALID, "cron": "  0  0 9 * *  * "}).cron == "0 0 9 * * *"
    error = refused({**VALID, "cron": "0 61 9 * * *"})
    assert error.code == "InvalidCron"
    assert error.message.startswith("cron: minute field")
    assert refused({**VALID, "cron": "every day"}).message.startswith("cron: expected 6 fields")


def test_an_unknown_time_zone_is_named() -> None:
    error = refused({**VALID, "timeZone": "Mars/Olympus_Mons"})
    assert error.code == "UnknownTimeZone"
    assert error.message.startswith("timeZone: unknown IANA time zone")
    assert refused({**VALID, "timeZone": "../../etc/passwd"}).code == "UnknownTimeZone"
    # A name longer than a file name makes the zone lookup raise OSError, not a 500.
    assert refused({**VALID, "timeZone": "x" * 5000}).code == "UnknownTimeZone"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"conversation": None}, "conversation/user/teamsChannel"),
        ({"user": {"channelId": "msteams", "userId": "29:1"}}, "conversation/user/teamsChannel"),
        ({"activities": []}, "activities"),
        ({"activities": [{"text": "no type"}]}, "activities.0.type"),
        ({"activities": [{"type": " "}]}, "activities.0"),
        ({"conversation": {"channelId": "msteams"}}, "conversation.conversationId"),
        ({"conversation": {"conversationId": "a", "extra": 1}}, "conversation.extra"),
        ({"enabled": "sometimes"}, "enabled"),
        ({"startAt": "2026-11-22T09:00:00"}, "startAt"),
        ({"startAt": "2026-11-22T09:00:00Z", "endAt": "2026-11-22T08:00:00Z"}, "endAt"),
        ({"misfirePolicy": "catchUp"}, "misfirePolicy"),
        ({"misfireGraceSeconds": -1}, "misfireGraceSeconds"),
        ({"misfireGraceSeconds": 86_401}, "misfireGraceSeconds"),
        ({"name": "x" * 201}, "name"),
        ({"_rid": "abc"}, "_rid"),
        ({"pending": {}}, "pending"),
    ],
)
def test_invalid_fields_are_named(change: dict[str, Any], field: str) -> None:
    body = {key: value for key, value in {**VALID, **change}.items() if value is not None}
    error = refused(body)
    assert error.message.startswith(f"{field}:"), error.message


def test_activities_must_fit_in_a_queue_message() -> None:
    text = "x" * MAX_ACTIVITIES_JSON_BYTES
    error = refused({**VALID, "activities": [{"type": "message", "text": text}]})
    assert error.message.startswith("activities:")
    assert "queue message" in error.message


def test_times_are_stored_in_utc() -> None:
    fields = validate_fields({**VALID, "startAt": "2026-11-22T10:00:00+01:00"})
    assert fields.start_at == datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    assert fields.fields_wire()["startAt"] == "2026-11-22T09:00:00Z"


def test_the_api_shows_read_only_fields_even_when_unset() -> None:
    schedule = Schedule.model_validate({**VALID, "id": "abc"})
    api = schedule.to_api()
    assert next(iter(api)) == "id"
    assert api["nextRunAt"] is None
    assert api["lastRunAt"] is None
    assert api["runCount"] == 0


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("abc", True),
        ("A_b-9", True),
        ("x" * 64, True),
        ("", False),
        ("a:b", False),
        ("x" * 65, False),
    ],
)
def test_schedule_ids(value: str, valid: bool) -> None:
    assert valid_schedule_id(value) is valid


def test_utc_text() -> None:
    assert utc_text(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
    assert utc_text(None) is None


def test_merge_patch_follows_rfc_7386() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}, "list": [1, 2]}
    patch = {"a": "z", "c": {"f": None}, "list": [3], "new": {"x": None}}
    assert merge_patch(target, patch) == {"a": "z", "c": {"d": "e"}, "list": [3], "new": {}}
    assert merge_patch(target, ["replaced"]) == ["replaced"]
