"""Placeholders in a schedule's activities, filled in for each occurrence.

In the ``text``, ``speak`` and ``summary`` of each activity, these names in braces are replaced
with the occurrence's time, in the schedule's zone:

==================  ====================================  ==========================
placeholder         value                                 example
==================  ====================================  ==========================
``{localDate}``     the local date, ISO 8601              ``2026-11-23``
``{localTime}``     the local time, 24-hour               ``09:00``
``{localDateTime}`` both                                  ``2026-11-23 09:00``
``{weekday}``       the local day of the week, in English ``Monday``
``{timeZone}``      the schedule's IANA zone              ``Europe/Berlin``
``{utcTime}``       the occurrence in UTC, ISO 8601       ``2026-11-23T08:00:00Z``
==================  ====================================  ==========================

Anything else in braces is left as it is (Adaptive Card templates and JSON in text keep
working); there is nothing to escape. Attachments are never changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

RENDERED_FIELDS = ("text", "speak", "summary")
"""The activity fields placeholders are filled in."""

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_VALUES: dict[str, Callable[[datetime, str], str]] = {
    "localDate": lambda local, _zone: local.strftime("%Y-%m-%d"),
    "localTime": lambda local, _zone: local.strftime("%H:%M"),
    "localDateTime": lambda local, _zone: local.strftime("%Y-%m-%d %H:%M"),
    "weekday": lambda local, _zone: _WEEKDAYS[local.weekday()],
    "timeZone": lambda _local, zone: zone,
    "utcTime": lambda local, _zone: local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
}
PLACEHOLDERS = tuple(_VALUES)
"""The placeholder names, without braces."""
_PATTERN = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


def placeholder_values(occurrence: datetime, zone: tzinfo | None, zone_name: str) -> dict[str, str]:
    """The value of every placeholder for one occurrence.

    Args:
        occurrence: The occurrence (aware).
        zone: The schedule's zone; ``None`` for UTC.
        zone_name: Its IANA name, for ``{timeZone}``.
    """
    local = occurrence.astimezone(zone or UTC)
    return {name: value(local, zone_name) for name, value in _VALUES.items()}


def render_text(text: str, values: Mapping[str, str]) -> str:
    """``text`` with the known placeholders replaced; other braces are kept."""
    return _PATTERN.sub(lambda match: values[match.group(1)], text)


def render_activities(
    activities: list[dict[str, Any]], values: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Copies of wire activities with placeholders filled in :data:`RENDERED_FIELDS`."""
    rendered: list[dict[str, Any]] = []
    for activity in activities:
        copy = dict(activity)
        for field in RENDERED_FIELDS:
            value = copy.get(field)
            if isinstance(value, str):
                copy[field] = render_text(value, values)
        rendered.append(copy)
    return rendered
