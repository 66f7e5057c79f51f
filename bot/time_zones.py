"""Looking up an IANA time zone by a name that came from outside.

``zoneinfo`` reads the system's zone files, then the ``tzdata`` package (a runtime requirement,
for hosts without ``/usr/share/zoneinfo``). A name it does not know raises
``ZoneInfoNotFoundError``, a malformed one ``ValueError``, and one too long for a file name,
looked up in the package, ``OSError``: all three mean "no such zone" to a caller.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def find_zone(name: str) -> ZoneInfo | None:
    """The zone called ``name`` (``Europe/Berlin``), or ``None`` when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
