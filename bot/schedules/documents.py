"""Schedule documents in Cosmos DB and every change made to them, free of I/O.

A document is the schedule's API JSON (:meth:`~bot.schedules.records.Schedule.to_api`) with
its times as fixed-width UTC text (:mod:`bot.storage.timestamps`, so ``c.nextRunAt <= @now``
compares correctly), plus the tick's bookkeeping::

    {"id": "9f1c...", ...client fields..., "nextRunAt": "2026-11-23T11:00:00.000000Z",
     "lastRunAt": null, "runCount": 0, "createdAt": "...", "updatedAt": "...",
     "pending": {"occurrence": "...", "messageId": "schedule:9f1c...:20261123T110000Z",
                 "retryAt": "...", "message": {...the queue message...}}}

The document id is the schedule id itself, not an HMAC (CONTRIBUTING's rule for storage ids):
schedule ids are the service's own opaque ids (or a client's, restricted to ``A-Z a-z 0-9 _
-``), never a user's or channel's id, and they hold no character Cosmos DB refuses.

``pending`` is an occurrence the tick has claimed but not yet confirmed as enqueued; see
:mod:`bot.schedules.tick` for why it exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.proactive.message import ProactiveMessage
from bot.schedules.occurrences import Firing, Timing, effective_grace, plan_firing
from bot.schedules.records import RESERVED_FIELDS, Schedule, ScheduleFields
from bot.storage.system_properties import SYSTEM_PROPERTIES, without_system_properties
from bot.storage.timestamps import from_timestamp, to_timestamp

TIME_FIELDS = ("nextRunAt", "lastRunAt", "createdAt", "updatedAt", "startAt", "endAt")
TIMING_FIELDS = ("cron", "timeZone", "startAt", "endAt", "enabled")
"""Fields whose change moves ``nextRunAt``."""


def timing_of(fields: ScheduleFields) -> Timing:
    """The occurrences a schedule's fields describe."""
    return Timing(fields.expression, fields.zone, fields.start_at, fields.end_at)


def first_run_after(fields: ScheduleFields, moment: datetime) -> datetime | None:
    """``nextRunAt`` of a schedule (re)started at ``moment``; ``None`` when disabled or ended."""
    if not fields.enabled:
        return None
    return timing_of(fields).first_after(moment)


def schedule_of(document: Mapping[str, Any]) -> Schedule:
    """The schedule a document holds (bookkeeping and system properties left out)."""
    body = {
        key: value
        for key, value in document.items()
        if key not in SYSTEM_PROPERTIES and key not in RESERVED_FIELDS
    }
    return Schedule.model_validate(body)


def schedule_document(schedule: Schedule, pending: Mapping[str, Any] | None) -> dict[str, Any]:
    """The document of a schedule, with its pending occurrence if it has one."""
    document = schedule.to_api()
    for name in TIME_FIELDS:
        value = getattr(schedule, _python_name(name))
        document[name] = to_timestamp(value) if value is not None else None
    if pending is not None:
        document["pending"] = dict(pending)
    return document


def new_document(schedule_id: str, fields: ScheduleFields, now: datetime) -> dict[str, Any]:
    """The document of a new schedule, created at ``now``."""
    schedule = Schedule.model_validate(
        {
            **fields.fields_wire(),
            "id": schedule_id,
            "nextRunAt": first_run_after(fields, now),
            "runCount": 0,
            "createdAt": now,
            "updatedAt": now,
        }
    )
    return schedule_document(schedule, None)


def updated_document(
    existing: Mapping[str, Any], fields: ScheduleFields, now: datetime
) -> dict[str, Any]:
    """The document after a client replaced its fields at ``now``.

    Read-only fields and a pending occurrence are kept. ``nextRunAt`` is computed afresh from
    ``now`` when the timing changed (cron, zone, window, enabled), so occurrences missed while
    disabled are not sent late; otherwise it stays.
    """
    current = schedule_of(existing)
    new_wire = fields.fields_wire()
    old_wire = current.fields_wire()
    timing_changed = any(new_wire.get(name) != old_wire.get(name) for name in TIMING_FIELDS)
    next_run_at = first_run_after(fields, now) if timing_changed else current.next_run_at
    schedule = Schedule.model_validate(
        {
            **new_wire,
            "id": current.id,
            "nextRunAt": next_run_at,
            "lastRunAt": current.last_run_at,
            "runCount": current.run_count,
            "createdAt": current.created_at,
            "updatedAt": now,
        }
    )
    return schedule_document(schedule, _pending_body(existing))


@dataclass(frozen=True)
class Pending:
    """An occurrence claimed by a tick and not yet confirmed as enqueued.

    Attributes:
        occurrence: The occurrence.
        message_id: Its queue message id.
        retry_at: When a later tick re-enqueues it if it is still pending.
        message: The queue message, exactly as first built.
    """

    occurrence: datetime
    message_id: str
    retry_at: datetime
    message: dict[str, Any]

    def to_document(self) -> dict[str, Any]:
        """The ``pending`` object of the document."""
        return {
            "occurrence": to_timestamp(self.occurrence),
            "messageId": self.message_id,
            "retryAt": to_timestamp(self.retry_at),
            "message": self.message,
        }

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> Pending | None:
        """The pending occurrence of a document, if any."""
        body = _pending_body(document)
        if body is None:
            return None
        return cls(
            occurrence=from_timestamp(body["occurrence"]),
            message_id=str(body["messageId"]),
            retry_at=from_timestamp(body["retryAt"]),
            message=dict(body["message"]),
        )


def _pending_body(document: Mapping[str, Any]) -> dict[str, Any] | None:
    pending = document.get("pending")
    return dict(pending) if isinstance(pending, Mapping) else None


def claimed_document(
    existing: Mapping[str, Any],
    firing: Firing,
    message: ProactiveMessage,
    *,
    now: datetime,
    retry_at: datetime,
) -> dict[str, Any]:
    """The document after a tick claimed ``firing.latest`` to send it.

    ``nextRunAt`` moves on, the run is counted, and the occurrence is pending until confirmed.
    """
    document = _body(existing)
    document.update(
        {
            "nextRunAt": _stamp(firing.next_run_at),
            "lastRunAt": to_timestamp(firing.latest),
            "runCount": int(document.get("runCount") or 0) + 1,
            "pending": Pending(
                firing.latest, message.id, retry_at, message.to_wire()
            ).to_document(),
        }
    )
    return document


def missed_document(existing: Mapping[str, Any], firing: Firing) -> dict[str, Any]:
    """The document after a tick found its latest due occurrence too late to send."""
    document = _body(existing)
    document["nextRunAt"] = _stamp(firing.next_run_at)
    return document


def confirmed_document(existing: Mapping[str, Any], message_id: str) -> dict[str, Any] | None:
    """The document with its pending occurrence confirmed (removed).

    Returns:
        ``None`` when the pending occurrence is not ``message_id`` (any more): nothing to do.
    """
    pending = Pending.of(existing)
    if pending is None or pending.message_id != message_id:
        return None
    document = _body(existing)
    document.pop("pending", None)
    return document


@dataclass(frozen=True)
class TickPlan:
    """What a tick does with one document it read.

    Attributes:
        recover: A pending occurrence whose claimer did not confirm it in time: enqueue its
            message again (same id) and confirm it.
        firing: The due occurrence to claim and send, or miss.
    """

    recover: Pending | None
    firing: Firing | None


def plan_tick(document: Mapping[str, Any], now: datetime, tolerance: timedelta) -> TickPlan:
    """Decide what a tick at ``now`` does with a document the due query returned.

    A schedule whose occurrence is pending under a running claim (``retryAt`` in the future)
    is left alone, even when its next occurrence is due: its claimer is still at work, and
    claiming over it would drop the pending occurrence.
    """
    pending = Pending.of(document)
    recover = None
    if pending is not None:
        if pending.retry_at > now:
            return TickPlan(None, None)
        recover = pending
    return TickPlan(recover, plan_due(document, now, tolerance))


def plan_due(document: Mapping[str, Any], now: datetime, tolerance: timedelta) -> Firing | None:
    """The firing of a document whose ``nextRunAt`` is due at ``now``; ``None`` when not due."""
    next_run_at = document.get("nextRunAt")
    if document.get("enabled") is not True or not isinstance(next_run_at, str):
        return None
    due = from_timestamp(next_run_at)
    if due > now:
        return None
    schedule = schedule_of(document)
    grace = effective_grace(
        schedule.misfire_policy, timedelta(seconds=schedule.misfire_grace_seconds), tolerance
    )
    return plan_firing(timing_of(schedule), due, now, grace)


def _body(existing: Mapping[str, Any]) -> dict[str, Any]:
    return without_system_properties(existing)


def _stamp(moment: datetime | None) -> str | None:
    return to_timestamp(moment) if moment is not None else None


def _python_name(wire_name: str) -> str:
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in wire_name)
