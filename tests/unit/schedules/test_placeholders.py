"""Placeholders in a schedule's activities, filled in per occurrence in the schedule's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.schedules.placeholders import (
    PLACEHOLDERS,
    placeholder_values,
    render_activities,
    render_text,
)

OCCURRENCE = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # Monday 08:30 in Tokyo


def test_values_are_local_to_the_zone() -> None:
    values = placeholder_values(OCCURRENCE, ZoneInfo("Asia/Tokyo"), "Asia/Tokyo")
    assert values == {
        "localDate": "2026-11-23",
        "localTime": "08:30",
        "localDateTime": "2026-11-23 08:30",
        "weekday": "Monday",
        "timeZone": "Asia/Tokyo",
        "utcTime": "2026-11-22T23:30:00Z",
    }
    assert set(values) == set(PLACEHOLDERS)


def test_utc_schedules() -> None:
    values = placeholder_values(OCCURRENCE, None, "UTC")
    assert (values["localDate"], values["weekday"]) == ("2026-11-22", "Sunday")


def test_unknown_braces_are_kept() -> None:
    values = placeholder_values(OCCURRENCE, None, "UTC")
    text = 'Report for {localDate} ({weekday}); {"json": true} {unknown} ${card.data}'
    assert render_text(text, values) == (
        'Report for 2026-11-22 (Sunday); {"json": true} {unknown} ${card.data}'
    )


def test_text_speak_and_summary_are_rendered_and_nothing_else() -> None:
    values = placeholder_values(OCCURRENCE, None, "UTC")
    attachment = {"contentType": "text/plain", "content": "{localDate}"}
    activities = [
        {
            "type": "message",
            "text": "{localTime}",
            "speak": "{weekday}",
            "summary": "{localDate}",
            "attachments": [attachment],
            "name": "{localDate}",
        }
    ]
    rendered = render_activities(activities, values)
    assert rendered[0]["text"] == "23:30"
    assert rendered[0]["speak"] == "Sunday"
    assert rendered[0]["summary"] == "2026-11-22"
    assert rendered[0]["attachments"] == [attachment]
    assert rendered[0]["name"] == "{localDate}"
    assert activities[0]["text"] == "{localTime}"  # the schedule's own activities are unchanged
