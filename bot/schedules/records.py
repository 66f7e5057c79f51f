"""A schedule as clients see it (docs/schedules.md): camelCase JSON, unknown fields kept.

::

    {"id": "9f1c...", "name": "timesheet", "description": "every Monday at 12:00",
     "conversation": {"channelId": "msteams", "conversationId": "a:1x2y3z"},
     "cron": "0 0 12 * * Mon", "timeZone": "Europe/Berlin",
     "activities": [{"type": "message", "text": "Timesheet for {localDate}, please"}],
     "enabled": true, "startAt": null, "endAt": null,
     "misfirePolicy": "sendLatest", "misfireGraceSeconds": 600,
     "nextRunAt": "2026-11-23T11:00:00Z", "lastRunAt": null, "runCount": 0,
     "createdAt": "...", "updatedAt": "..."}

- The target is ``conversation``, ``user`` or ``teamsChannel``, exactly as in the proactive
  queue message (:mod:`bot.proactive.message`).
- ``cron`` is NCRONTAB (:mod:`bot.cron`): six fields with seconds first, or the classic five.
- ``timeZone`` is an IANA zone; the cron fields are wall-clock times there.
- ``activities`` are sent in order at every occurrence; placeholders in their ``text``,
  ``speak`` and ``summary`` are filled in per occurrence (:mod:`bot.schedules.placeholders`).
- ``startAt`` / ``endAt`` (optional, ISO 8601 with a zone): no occurrence before / after them.
- ``misfirePolicy``: what a late tick does (:mod:`bot.schedules.occurrences`): ``skip`` sends
  an occurrence only when it is on time; ``sendLatest`` also sends the latest missed one when it
  is at most ``misfireGraceSeconds`` late. Older missed occurrences are never sent.
- Read-only (refused on input): ``nextRunAt`` (UTC; ``null`` when disabled or ended),
  ``lastRunAt`` (the last occurrence sent), ``runCount`` (occurrences sent), ``createdAt``,
  ``updatedAt``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, Field, field_serializer, field_validator, model_validator

from bot.cron import CronError, CronExpression
from bot.delivery import DeliveryMode
from bot.proactive.message import (
    MAX_ACTIVITIES,
    ConversationTarget,
    ProactiveEvent,
    SendableActivity,
    TeamsChannelTarget,
    UserTarget,
)
from bot.schema import WireModel
from bot.time_zones import find_zone

SCHEDULE_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""A schedule id: it is part of the queue message id, so only characters valid there."""
DEFAULT_GRACE_SECONDS = 600
MAX_GRACE_SECONDS = 86_400
MAX_ACTIVITIES_JSON_BYTES = 40_000
"""The activities' JSON limit: a queue message is at most 64 KiB once base64-encoded."""
MAX_NAME_LENGTH = 200
UTC_ZONE = "UTC"

READ_ONLY_FIELDS = frozenset({"nextRunAt", "lastRunAt", "runCount", "createdAt", "updatedAt"})
"""Kept by the service; a client that sends one gets a 400."""
RESERVED_FIELDS = frozenset({"pending", "ttl"})
"""Bookkeeping of the tick, stored in the document and never on the wire."""


TARGETS = {"conversation": "conversation", "user": "user", "teams_channel": "teamsChannel"}
"""A schedule's target fields (Python name to wire name); exactly one is given."""


class MisfirePolicy(StrEnum):
    """What to do with occurrences the tick reaches late (see :mod:`bot.schedules.occurrences`)."""

    SKIP = "skip"
    """Send an occurrence only when it is on time; missed ones are dropped."""
    SEND_LATEST = "sendLatest"
    """Also send the latest missed occurrence when it is at most ``misfireGraceSeconds`` late."""


def zone_of(name: str) -> ZoneInfo | None:
    """The zone the cron fields are read in; ``None`` stands for UTC (the fast path of cron).

    Raises:
        ValueError: ``name`` is not a known IANA zone.
    """
    if name == UTC_ZONE:
        return None
    zone = find_zone(name)
    if zone is None:
        raise ValueError(
            f"unknown IANA time zone {name!r} (for example Europe/Berlin, America/New_York, UTC)"
        )
    return zone


class ScheduleFields(WireModel):
    """What a client sets: everything but the id and the read-only fields.

    Fields not declared here are kept and returned unchanged, like unknown fields of activities.
    """

    name: Annotated[str, Field(max_length=MAX_NAME_LENGTH)] | None = None
    """A label for people (chat lists show it)."""
    description: Annotated[str, Field(max_length=MAX_NAME_LENGTH)] | None = None
    """When it runs, in words (chat-made schedules say ``every Monday at 12:00``)."""
    conversation: ConversationTarget | None = None
    user: UserTarget | None = None
    teams_channel: TeamsChannelTarget | None = None
    cron: str
    time_zone: str = UTC_ZONE
    activities: (
        Annotated[list[SendableActivity], Field(min_length=1, max_length=MAX_ACTIVITIES)] | None
    ) = None
    event: ProactiveEvent | None = None
    """Instead of ``activities``: each occurrence runs a proactive turn with this event, which
    computes what to send when it fires (:mod:`bot.proactive.event_turns`)."""
    enabled: bool = True
    delivery: DeliveryMode | None = None
    """Each occurrence's message's ``delivery`` (docs/delivery.md); absent: ``atLeastOnce``."""
    start_at: AwareDatetime | None = None
    end_at: AwareDatetime | None = None
    misfire_policy: MisfirePolicy = MisfirePolicy.SEND_LATEST
    misfire_grace_seconds: Annotated[int, Field(ge=0, le=MAX_GRACE_SECONDS)] = DEFAULT_GRACE_SECONDS

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        text = " ".join(value.split())
        try:
            CronExpression.parse(text)
        except CronError as error:
            raise ValueError(str(error)) from None
        return text

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone_of(value)
        return value

    @field_validator("start_at", "end_at")
    @classmethod
    def _to_utc(cls, value: datetime | None) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    @field_validator("activities")
    @classmethod
    def _fits_a_queue_message(
        cls, value: list[SendableActivity] | None
    ) -> list[SendableActivity] | None:
        if value is None:
            return None
        size = len(json.dumps([activity.to_wire() for activity in value]).encode("utf-8"))
        if size > MAX_ACTIVITIES_JSON_BYTES:
            raise ValueError(
                f"the activities take {size} bytes of JSON; at most "
                f"{MAX_ACTIVITIES_JSON_BYTES} fit in a queue message"
            )
        return value

    @model_validator(mode="after")
    def _check_combination(self) -> Self:
        named = [wire for name, wire in TARGETS.items() if getattr(self, name) is not None]
        if len(named) != 1:
            found = ", ".join(named) if named else "none"
            raise ValueError(
                f"conversation/user/teamsChannel: exactly one target is required (found: {found})"
            )
        if (self.activities is None) == (self.event is None):
            raise ValueError("activities/event: give exactly one")
        if self.start_at is not None and self.end_at is not None and self.end_at <= self.start_at:
            raise ValueError("endAt: must be later than startAt")
        for key in self.model_extra or {}:
            if key.startswith("_") or key in RESERVED_FIELDS:
                raise ValueError(f"{key}: reserved for the service")
        return self

    @field_serializer("start_at", "end_at")
    def _utc_text(self, value: datetime | None) -> str | None:
        return utc_text(value)

    @property
    def zone(self) -> ZoneInfo | None:
        """The zone of the cron fields (``None`` for UTC)."""
        return zone_of(self.time_zone)

    @property
    def expression(self) -> CronExpression:
        """The parsed cron."""
        return CronExpression.parse(self.cron)

    def fields_wire(self) -> dict[str, Any]:
        """The client's fields as JSON (unknown ones included, ``None`` left out)."""
        wire = self.to_wire()
        if self.activities is not None:
            wire["activities"] = [activity.to_wire() for activity in self.activities]
        return wire


class Schedule(ScheduleFields):
    """A stored schedule: the client's fields, its id and the read-only fields."""

    id: str
    next_run_at: AwareDatetime | None = None
    last_run_at: AwareDatetime | None = None
    run_count: int = 0
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None

    @field_serializer("next_run_at", "last_run_at", "created_at", "updated_at")
    def _read_only_text(self, value: datetime | None) -> str | None:
        return utc_text(value)

    def to_api(self) -> dict[str, Any]:
        """The JSON an API client gets: read-only fields always present (``null`` when unset)."""
        wire = {"id": self.id, **self.fields_wire()}
        for name, value in (
            ("nextRunAt", self.next_run_at),
            ("lastRunAt", self.last_run_at),
            ("createdAt", self.created_at),
            ("updatedAt", self.updated_at),
        ):
            wire[name] = utc_text(value)
        wire["runCount"] = self.run_count
        return wire


def utc_text(moment: datetime | None) -> str | None:
    """``2026-11-22T09:00:00Z`` (fractions of a second only when there are any)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().removesuffix("+00:00") + "Z"


def valid_schedule_id(value: str) -> bool:
    """Whether ``value`` can be a schedule id (1-64 of ``A-Z a-z 0-9 _ -``)."""
    return SCHEDULE_ID_PATTERN.fullmatch(value) is not None
