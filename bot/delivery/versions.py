"""The versions of a delivery: each edit (``update``) and recall (``delete``) applied after
its send, recorded on the delivery's own ledger document, free of I/O.

A delivery's document gains ``"versions"``, oldest first::

    {"version": 2, "operation": "update", "operationId": "fix-typo-42",
     "activityIds": ["1:abc"], "at": "2026-11-22T09:01:00Z"}

The send itself is version 1 (the receipt lists it first). An operation is recorded once
however often it is recorded: the operation id is the key, so a worker that crashed between
finishing an edit and recording it simply records it again. Versions hold ids and times,
never message text.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.storage.system_properties import without_system_properties
from bot.storage.timestamps import to_timestamp

MAX_VERSIONS = 100
"""Versions kept on one document; older ones are dropped first (the document stays small)."""


def version_entry(
    operation: str, operation_id: str, activity_ids: Sequence[str | None], now: datetime
) -> dict[str, Any]:
    """A version to record (its number is given when it is recorded)."""
    return {
        "operation": operation,
        "operationId": operation_id,
        "activityIds": list(activity_ids),
        "at": to_timestamp(now),
    }


def versioned(document: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any] | None:
    """The document with ``entry`` appended as its next version.

    Returns:
        The new body, or ``None`` when the operation is already recorded.
    """
    versions = [item for item in document.get("versions") or () if isinstance(item, dict)]
    if any(item.get("operationId") == entry["operationId"] for item in versions):
        return None
    body = copy.deepcopy(without_system_properties(document))
    number = max((int(item.get("version", 1)) for item in versions), default=1) + 1
    versions.append({"version": number, **entry})
    body["versions"] = versions[-MAX_VERSIONS:]
    body["updatedAt"] = entry["at"]
    return body
