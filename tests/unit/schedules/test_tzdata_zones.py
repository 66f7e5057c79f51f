"""Time zones from the ``tzdata`` package alone, as on a host without ``/usr/share/zoneinfo``.

``zoneinfo`` looks in the system's time zone folders first and falls back to the ``tzdata``
package (a runtime requirement for that reason). Here the search path is emptied, so only the
package can answer: a schedule in ``Europe/Berlin`` must still be accepted and fire at 09:00
Berlin time, summer and winter.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.cron import CronExpression
from bot.schedules.documents import new_document, schedule_of
from bot.schedules.service import validate_fields


@pytest.fixture
def package_zones_only() -> Iterator[None]:
    """``zoneinfo`` with no system folders: the ``tzdata`` package is its only source."""
    zoneinfo.reset_tzpath(to=[])
    zoneinfo.ZoneInfo.clear_cache()
    try:
        yield
    finally:
        zoneinfo.reset_tzpath()
        zoneinfo.ZoneInfo.clear_cache()


@pytest.mark.usefixtures("package_zones_only")
def test_the_tzdata_package_alone_knows_berlin() -> None:
    assert zoneinfo.TZPATH == ()
    zone = zoneinfo.ZoneInfo("Europe/Berlin")

    assert datetime(2026, 7, 1, 12, tzinfo=zone).utcoffset().total_seconds() == 7200  # type: ignore[union-attr]
    assert datetime(2026, 1, 1, 12, tzinfo=zone).utcoffset().total_seconds() == 3600  # type: ignore[union-attr]


@pytest.mark.usefixtures("package_zones_only")
def test_a_berlin_schedule_is_accepted_and_fires_at_nine_berlin_time() -> None:
    fields = validate_fields(
        {
            "conversation": {"channelId": "msteams", "conversationId": "a:1"},
            "cron": "0 0 9 * * *",
            "timeZone": "Europe/Berlin",
            "activities": [{"type": "message", "text": "Guten Morgen"}],
        }
    )
    document = new_document("berlin", fields, datetime(2026, 6, 30, 12, tzinfo=UTC))

    summer = schedule_of(document).next_run_at
    winter = CronExpression.parse("0 0 9 * * *").next_after(
        datetime(2026, 12, 1, 12, tzinfo=UTC), zoneinfo.ZoneInfo("Europe/Berlin")
    )

    assert summer == datetime(2026, 7, 1, 7, tzinfo=UTC)  # 09:00 CEST
    assert winter.astimezone(UTC) == datetime(2026, 12, 2, 8, tzinfo=UTC)  # 09:00 CET


@pytest.mark.parametrize("name", ["Mars/Olympus", "../etc/passwd", "", "x" * 5000])
def test_a_name_that_is_no_zone_is_none_even_too_long_for_a_file_name(name: str) -> None:
    # Looked up in the tzdata package, a name longer than a file name can be raises OSError.
    from bot.time_zones import find_zone

    assert find_zone(name) is None


def test_a_schedule_in_an_impossible_zone_is_a_400_not_a_crash() -> None:
    from bot.schedules.service import ScheduleRequestError

    with pytest.raises(ScheduleRequestError, match="unknown IANA time zone") as refused:
        validate_fields(
            {
                "conversation": {"channelId": "msteams", "conversationId": "a:1"},
                "cron": "0 0 9 * * *",
                "timeZone": "x" * 5000,
                "activities": [{"type": "message", "text": "hi"}],
            }
        )
    assert refused.value.status == 400
