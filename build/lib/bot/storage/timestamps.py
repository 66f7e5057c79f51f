"""Times as stored in documents: UTC ISO 8601 text of fixed width.

Fixed width (always microseconds, always ``Z``) keeps the text order equal to the time order,
so queries can compare stored times as strings (``c.nextRunAt <= @now``).
"""

from __future__ import annotations

from datetime import UTC, datetime


def to_timestamp(moment: datetime) -> str:
    """``2026-11-22T09:00:00.000000Z`` for an aware datetime.

    Raises:
        ValueError: ``moment`` is naive: its zone would be a guess.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a stored time must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_timestamp(text: str) -> datetime:
    """The aware UTC datetime of a stored time (any ISO 8601 form with a zone).

    Raises:
        ValueError: ``text`` is not an ISO 8601 time with a zone.
    """
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("a stored time must name its zone")
    return moment.astimezone(UTC)
