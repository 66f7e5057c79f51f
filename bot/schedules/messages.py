"""The proactive queue message of one occurrence, and putting it on the queue.

Its ``id`` is derived from the schedule id and the occurrence (``schedule:<id>:<UTC time>``),
so every copy of one occurrence's message, whoever enqueues it and however often, carries the
same idempotency id, and the proactive sender's ledger sends it at most once.

``expiresAt`` is the occurrence plus a day: a reminder that has waited a day is dropped, and
every copy of an id is sent (or dropped) well within the ledger's seven-day memory of it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.proactive.message import ProactiveMessage
from bot.schedules.placeholders import placeholder_values, render_activities
from bot.schedules.records import Schedule

MESSAGE_LIFETIME = timedelta(days=1)
ID_PREFIX = "schedule"


def occurrence_id(schedule_id: str, occurrence: datetime) -> str:
    """``schedule:<schedule id>:<YYYYMMDDTHHMMSSZ>``: the idempotency id of one occurrence."""
    return f"{ID_PREFIX}:{schedule_id}:{occurrence.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def occurrence_message(schedule: Schedule, occurrence: datetime) -> ProactiveMessage:
    """The queue message (docs/queue-message.md) that sends one occurrence of a schedule."""
    body: dict[str, Any] = {
        "version": 1,
        "id": occurrence_id(schedule.id, occurrence),
        "expiresAt": occurrence + MESSAGE_LIFETIME,
    }
    if schedule.event is not None:
        # Computed when it fires; the turn knows the occurrence by the message's id.
        body["event"] = schedule.event
    else:
        values = placeholder_values(occurrence, schedule.zone, schedule.time_zone)
        body["activities"] = render_activities(
            [activity.to_wire() for activity in schedule.activities or ()], values
        )
    if schedule.delivery is not None:
        body["delivery"] = schedule.delivery
    if schedule.conversation is not None:
        body["conversation"] = schedule.conversation
    elif schedule.teams_channel is not None:
        body["teamsChannel"] = schedule.teams_channel
    else:
        body["user"] = schedule.user
    return ProactiveMessage.model_validate(body)


async def enqueue_message(message: ProactiveMessage) -> None:
    """Put a message on the proactive queue (``PROACTIVE_QUEUE_NAME``)."""
    from bot.proactive.enqueue import enqueue

    await enqueue(message)
