"""The properties Cosmos DB adds to every document it returns.

A read-modify-write starts from the document as read; these are the server's, not the
document's, so they are dropped before the body is written back (the ``_etag`` travels as the
write's condition instead).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SYSTEM_PROPERTIES = frozenset({"_rid", "_self", "_etag", "_attachments", "_ts"})
"""Properties Cosmos DB adds to a document; never written back."""


def without_system_properties(document: Mapping[str, Any]) -> dict[str, Any]:
    """A shallow copy of ``document`` without Cosmos DB's own properties."""
    return {key: value for key, value in document.items() if key not in SYSTEM_PROPERTIES}
