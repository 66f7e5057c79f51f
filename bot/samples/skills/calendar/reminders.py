"""The proactive reminder of a meeting: a queue message for the conversation, due at the lead
time before the meeting (at once when that moment has passed but the meeting has not started).

Its id is derived from the conversation, the meeting and its start, so a repeated
``DeviceStart`` enqueues the same id again and the queue's idempotency (docs/queue-message.md:
at most one send per id) keeps the user from getting the reminder twice, while a meeting that
moved gets a reminder for its new time.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, tzinfo

from bot.proactive.message import ConversationTarget, ProactiveMessage
from bot.samples.skills.calendar.meetings import Meeting
from bot.samples.skills.calendar.wording import clock_time, time_until
from bot.schema import Activity, ActivityTypes

ID_PREFIX = "calendar-reminder:"
REMINDER_TEXT = "Reminder: '{title}' starts at {time} ({until})."


def reminder_id(target: ConversationTarget, meeting: Meeting) -> str:
    """The idempotency id of a meeting's reminder in a conversation.

    A digest: conversation and meeting ids may hold characters a queue id may not, and ids of
    users' conversations are not spelled out in queue messages needlessly.
    """
    parts = [
        target.channel_id or "",
        target.tenant_id or "",
        target.conversation_id,
        meeting.id,
        meeting.start.isoformat(),
    ]
    digest = hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()
    return ID_PREFIX + digest[:48]


def reminder_message(
    target: ConversationTarget,
    meeting: Meeting,
    lead: timedelta,
    zone: tzinfo,
    now: datetime | None = None,
) -> ProactiveMessage:
    """The queue message that reminds the conversation of ``meeting``, ``lead`` before it.

    When the lead time has already passed at ``now`` (the meeting is nearer than the lead),
    the reminder is due at once and says how long is really left. It expires when the meeting
    starts: a "starts in 10 minutes" that could not be sent in time is wrong afterwards.

    Args:
        target: The conversation.
        meeting: The meeting.
        lead: How long before the meeting the reminder is due.
        zone: The user's zone, for the time of day in the text.
        now: The current time; when omitted, the reminder is always due ``lead`` before.
    """
    due = meeting.start - lead
    if now is not None and due <= now:
        due = now
    text = REMINDER_TEXT.format(
        title=meeting.title,
        time=clock_time(meeting.start, zone),
        until=time_until(meeting.start - due),
    )
    return ProactiveMessage(
        version=1,
        id=reminder_id(target, meeting),
        conversation=target,
        activities=[Activity(type=ActivityTypes.MESSAGE, text=text)],
        # Due at once: no notBefore, so the queue makes it visible now.
        not_before=None if due == now else due,
        expires_at=meeting.start,
    )
