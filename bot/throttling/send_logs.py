"""Send logs: a conversation's recent sends, shared by every instance through Cosmos DB.

A conversation's windows (Teams: 7 per 1 s, 8 per 2 s, 60 per 30 s) are small, and its sends
arrive at whichever instance dequeued them. Leasing the whole budget to one instance would
make the others hand back every message to a busy conversation until the owner stopped using
it for a whole window (30 s). Instead every instance writes each send it makes to the
conversation into one document, the conversation's *send log*, with a write conditioned on
the ``_etag`` it last saw; so any instance may send, and every send was checked against every
send before it. See docs/rate-limits.md.

Why the windows hold. The writes are ordered by the etag: a send is granted only when its
write succeeded on the log it checked against. Each entry is ``[instance, at, by]``: the
send was granted at ``at`` (wall clock) and reached the channel by ``by`` (its answer when the
instance has it, else ``at`` plus :data:`ARRIVAL_GUARD_SECONDS`: a granted request reaches the
channel within that, and a grant whose write took longer than half of it is not used). For
the latest send in any window of ``S`` seconds, every other send in it arrived after its own
grant minus ``S``, so its ``by`` is later than that: counting, at each grant, the other
instances' entries whose ``by`` is within the last ``S`` seconds, plus this instance's own
sends exactly (in flight, or answered within ``S``), keeps every window. An instance rewrites
its own entries' ``by`` with their answers at its next write, so the guard is paid only across
instances and only until then.

Costs: one write per send (a create for a conversation's first send, as a broadcast's; a
replace with the etag of this instance's last write after that); a conflict (another instance
wrote meanwhile) adds one point read and one more write. No index: the ``throttles``
container indexes nothing. When Cosmos DB cannot be written, sends to conversations are
deferred (fail closed). Windows longer than :data:`WINDOW_CAP_SECONDS` (Teams' hour) hold per
instance.

A document::

    {"id": "v1-<hmac of channel, tenant, conversation>", "kind": "sendLog",
     "sends": [["3f2a9c1d0b7e", 1733300000.125, 1733300000.311], ...], "ttl": 300}
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.channel_limits import Window
from bot.storage.containers import THROTTLES
from bot.storage.cosmos import container as named_container
from bot.storage.keys import storage_id

if TYPE_CHECKING:
    from azure.cosmos.aio import ContainerProxy

logger = logging.getLogger(__name__)

SEND_LOG_KIND = "sendLog"
ARRIVAL_GUARD_SECONDS = 1.0
"""A granted request reaches the channel within this (request latency and the instances'
clock difference included): until its answer is written, other instances count it as
arriving this late."""
SLOW_WRITE_SECONDS = ARRIVAL_GUARD_SECONDS / 2
"""A grant whose write took longer is not used (the request would leave too late)."""
WINDOW_CAP_SECONDS = 60.0
"""Windows up to this long hold across instances; longer ones (Teams' hour) per instance."""
MAX_LOGS = 4096
"""Logs kept in memory before idle ones are forgotten."""


@dataclass(eq=False)
class Send:
    """One of this instance's sends in a log.

    Attributes:
        at: When it was granted (wall clock, epoch seconds).
        answered: When it was answered; ``None`` while in flight.
    """

    at: float
    answered: float | None = None


@dataclass
class SendLog:
    """One conversation's log as this instance knows it.

    Attributes:
        parts: The document id's parts (channel, tenant, conversation).
        windows: The windows held across instances.
        others: Other instances' sends: ``(instance, at, by)``.
        mine: This instance's sends.
        etag: The etag of the document as last read or written.
        exists: Whether the document exists (as far as this instance knows).
    """

    parts: tuple[str, ...]
    windows: tuple[Window, ...]
    others: list[tuple[str, float, float]] = field(default_factory=list)
    mine: list[Send] = field(default_factory=list)
    etag: str | None = None
    exists: bool = False

    def earliest(self, now: float, margin: float) -> float | None:
        """When (wall clock) one more send fits every window; ``None`` when only an answer to
        one of this instance's sends in flight can make room."""
        self._prune(now, margin)
        in_flight = sum(1 for send in self.mine if send.answered is None)
        moments = sorted(
            [send.answered for send in self.mine if send.answered is not None]
            + [by for _, _, by in self.others]
        )
        ready = now
        for window in self.windows:
            room = window.limit - in_flight
            if room <= 0:
                return None
            if len(moments) >= room:
                ready = max(ready, moments[-room] + window.seconds + margin)
        return ready

    def cancel(self, send: Send) -> None:
        """A send granted on the log was never made: forget it here; the document loses it
        at this instance's next write (until then it only counts against the log)."""
        if send in self.mine:
            self.mine.remove(send)

    def entries(self, instance: str, guard: float) -> list[list[Any]]:
        """The document's ``sends``: everyone's, this instance's with what it knows now."""
        rows: list[list[Any]] = [[name, at, by] for name, at, by in self.others]
        for send in self.mine:
            by = send.answered if send.answered is not None else send.at + guard
            rows.append([instance, math.floor(send.at * 1000) / 1000, math.ceil(by * 1000) / 1000])
        return rows

    def idle(self, now: float) -> bool:
        """Nothing of this log can still count."""
        self._prune(now, 0.0)
        return not self.mine and not self.others

    def _prune(self, now: float, margin: float) -> None:
        horizon = max(window.seconds for window in self.windows) + margin
        self.others = [entry for entry in self.others if entry[2] + horizon > now]
        self.mine = [
            send for send in self.mine if send.answered is None or send.answered + horizon > now
        ]


LogContainer = Callable[[], "ContainerProxy"]


class SendLogs:
    """Reads and appends to conversations' send logs.

    Args:
        container: Returns the ``throttles`` container; the process-wide one when omitted.
        instance_id: This instance's name in the logs; a random one when omitted.
        wall_clock: Epoch seconds (entries from several instances are compared).
        guard: :data:`ARRIVAL_GUARD_SECONDS`.
    """

    def __init__(
        self,
        *,
        container: LogContainer | None = None,
        instance_id: str | None = None,
        wall_clock: Callable[[], float] = time.time,
        guard: float = ARRIVAL_GUARD_SECONDS,
    ) -> None:
        if not guard > 0 or not math.isfinite(guard):
            raise ValueError("guard must be a positive number of seconds")
        self.instance_id = instance_id or uuid.uuid4().hex[:12]
        self.guard = guard
        self._container = container or _throttles_container
        self._wall_clock = wall_clock
        self._logs: dict[Hashable, SendLog] = {}
        self.operations: dict[str, int] = {"read": 0, "create": 0, "replace": 0}
        """Cosmos DB calls made (instrumentation for tests and the cost model)."""

    def now(self) -> float:
        """The wall clock the logs use."""
        return self._wall_clock()

    def log(
        self, scope: Hashable, parts: Sequence[str], windows: Sequence[Window]
    ) -> SendLog | None:
        """The scope's log (created on first use); ``None`` when no window needs sharing."""
        shared = tuple(window for window in windows if window.seconds <= WINDOW_CAP_SECONDS)
        if not shared:
            return None
        log = self._logs.get(scope)
        if log is None:
            if len(self._logs) >= MAX_LOGS:
                self._forget_idle()
            log = self._logs[scope] = SendLog(tuple(parts), shared)
        return log

    async def refresh(self, log: SendLog) -> None:
        """Read the log's document (one point read).

        Raises:
            Exception: Cosmos DB failed.
        """
        from azure.cosmos.exceptions import CosmosResourceNotFoundError

        self.operations["read"] += 1
        document_id = _log_id(log)
        try:
            stored = await self._container().read_item(document_id, partition_key=document_id)
        except CosmosResourceNotFoundError:
            log.exists, log.etag, log.others = False, None, []
        else:
            self._adopt(log, dict(stored))

    async def append(self, log: SendLog) -> Send | None:
        """Write one more send, granted now, into the log: the send (in flight) when the
        write succeeded on the log as this instance knew it; ``None`` when another instance
        wrote first (the log is read again: check it again).

        Raises:
            Exception: Cosmos DB failed (nothing may be sent).
        """
        from azure.core import MatchConditions
        from azure.cosmos.exceptions import (
            CosmosAccessConditionFailedError,
            CosmosResourceExistsError,
            CosmosResourceNotFoundError,
        )

        send = Send(self.now())
        log.mine.append(send)
        document_id = _log_id(log)
        body: dict[str, Any] = {
            "id": document_id,
            "kind": SEND_LOG_KIND,
            "sends": log.entries(self.instance_id, self.guard),
            # Kept past the longest shared window, then Cosmos DB removes it.
            "ttl": math.ceil(WINDOW_CAP_SECONDS + self.guard) * 5,
        }
        container = self._container()
        try:
            if log.exists:
                self.operations["replace"] += 1
                stored = await container.replace_item(
                    document_id, body, etag=log.etag, match_condition=MatchConditions.IfNotModified
                )
            else:
                self.operations["create"] += 1
                stored = await container.create_item(body)
        except (
            CosmosAccessConditionFailedError,
            CosmosResourceExistsError,
            CosmosResourceNotFoundError,
        ):
            log.mine.remove(send)
            await self.refresh(log)
            return None
        except BaseException:
            log.mine.remove(send)
            raise
        log.exists = True
        log.etag = str(dict(stored).get("_etag") or "")
        return send

    def _adopt(self, log: SendLog, document: dict[str, Any]) -> None:
        log.exists = True
        log.etag = str(document.get("_etag") or "")
        others: list[tuple[str, float, float]] = []
        for row in document.get("sends") or []:
            if not (isinstance(row, list) and len(row) == 3):
                continue
            instance, at, by = row
            if instance == self.instance_id:
                continue  # this instance's own sends are known exactly in memory
            if isinstance(at, int | float) and isinstance(by, int | float):
                others.append((str(instance), float(at), float(by)))
        log.others = others

    def _forget_idle(self) -> None:
        now = self.now()
        for scope in [scope for scope, log in self._logs.items() if log.idle(now)]:
            del self._logs[scope]


def _log_id(log: SendLog) -> str:
    return storage_id(SEND_LOG_KIND, *log.parts)


def _throttles_container() -> ContainerProxy:
    return named_container(THROTTLES.name)
