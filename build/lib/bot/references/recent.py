"""A small per-process memory of references captured moments ago.

A busy conversation sends many turns a minute; each would cost a point read only to learn that
nothing changed. Within a short window, a turn whose reference has the same fingerprint as one
this process just stored (or found stored) is skipped outright.

The price is staleness across processes: if another instance marks the conversation inactive,
this process may skip reviving it for at most one window; the next turn after the window
revives it. The window is far shorter than the ``lastSeen`` refresh interval, so skipping never
delays an expiry refresh by more than the window.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta


class RecentCaptures:
    """Fingerprints of recently captured documents, least recently used dropped first.

    Args:
        window: How long a remembered capture stands for the stored state.
        size: How many documents are remembered at most.
    """

    def __init__(self, window: timedelta, size: int) -> None:
        self._window = window
        self._size = size
        self._entries: OrderedDict[str, tuple[str, datetime]] = OrderedDict()

    def fresh(self, document_id: str, fingerprint: str, now: datetime) -> bool:
        """Whether ``document_id`` was seen with ``fingerprint`` less than a window ago."""
        entry = self._entries.get(document_id)
        if entry is None or entry[0] != fingerprint or now - entry[1] >= self._window:
            return False
        self._entries.move_to_end(document_id)
        return True

    def remember(self, document_id: str, fingerprint: str, now: datetime) -> None:
        """Note that the stored document is active with ``fingerprint`` as of ``now``."""
        if self._size <= 0 or self._window <= timedelta(0):
            return
        self._entries[document_id] = (fingerprint, now)
        self._entries.move_to_end(document_id)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def forget(self, document_id: str) -> None:
        """Drop what is remembered of ``document_id`` (it changed in a way captures must see)."""
        self._entries.pop(document_id, None)
