"""Looking up an IANA time zone by a name that came from outside.

``zoneinfo`` reads the system's zone files, then the ``tzdata`` package (a runtime requirement,
for hosts without ``/usr/share/zoneinfo``). A name it does not know raises
``ZoneInfoNotFoundError``, a malformed one ``ValueError``, and one too long for a file name,
looked up in the package, ``OSError``: all three mean "no such zone" to a caller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from bot.schema import Activity


def find_zone(name: str) -> ZoneInfo | None:
    """The zone called ``name`` (``Europe/Berlin``), or ``None`` when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def user_time_zone(activity: Activity, default: str = "UTC") -> str:
    """The IANA zone of the user: ``localTimezone``, a ``clientInfo`` entity, or ``default``.

    Here, below both, because the skills' parameters and the schedule commands each read it.
    """
    candidates = [activity.local_timezone]
    for entity in activity.entities or []:
        if entity.type == "clientInfo" and entity.model_extra:
            candidates.append(entity.model_extra.get("timezone"))
    for candidate in candidates:
        if isinstance(candidate, str) and candidate and find_zone(candidate) is not None:
            return candidate
    return default
