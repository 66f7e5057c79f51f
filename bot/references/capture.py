"""Middleware that keeps the reference of every conversation the bot hears from.

Every inbound turn captures its conversation reference (with the caller's claims), so the bot
can speak first later without any code in the handler. An uninstall (``installationUpdate``
``remove``) or the bot's removal from a conversation (``conversationUpdate`` whose
``membersRemoved`` names the bot) retires the reference instead; any later inbound turn revives
it.

Capture runs *before* the handler, for three reasons: a handler may start a proactive send to
this conversation (a welcome after install, a reminder) and must find the reference stored and
revived; the reference is kept even when the handler fails; and the cost is one point read at
most (none for a conversation this process saw moments ago), small next to the handler's own
work. A capture failure never breaks the turn: it is logged (without ids or text) and the turn
goes on; the next turn captures again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Protocol

from bot.references.records import CaptureOutcome, InactiveReason, ReferenceKey
from bot.references.store import ReferenceStore
from bot.references.teams import TeamsPlace, root_reference
from bot.schema.activity import Activity
from bot.schema.addressing import is_continuation_activity
from bot.schema.channels import Channels
from bot.schema.enums import ActivityTypes, InstallationUpdateActions
from bot.schema.reference import ConversationReference
from bot.turn.context import TurnContext
from bot.turn.middleware import NextStep
from bot.turn.state import StateKey

logger = logging.getLogger(__name__)

CAPTURE_OUTCOME = StateKey[CaptureOutcome | InactiveReason]("reference_capture")
"""What capture did this turn: a :class:`CaptureOutcome`, or the :class:`InactiveReason` the
conversation was retired for. Absent when the turn was not captured (or capture failed)."""

_REMOVE_ACTIONS = frozenset(
    {InstallationUpdateActions.REMOVE, InstallationUpdateActions.REMOVE_UPGRADE}
)
_RETIRING_EVENTS = {
    "teamDeleted": InactiveReason.TEAM_DELETED,
    "teamArchived": InactiveReason.TEAM_ARCHIVED,
    "channelDeleted": InactiveReason.CHANNEL_DELETED,
}
"""Teams ``conversationUpdate`` events that retire conversations, and the reason they get."""
_REVIVING_EVENTS = frozenset({"teamRestored", "teamUnarchived"})
_TEAM_REASONS = frozenset({InactiveReason.TEAM_DELETED, InactiveReason.TEAM_ARCHIVED})
"""What a restored or unarchived team revives: only what its deletion or archiving retired."""
_BOT_REASONS = frozenset({InactiveReason.BOT_REMOVED, InactiveReason.UNINSTALLED})
"""What the bot added to a team again revives."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class TeamChannels(Protocol):
    """Lists a team's channel ids through the Connector of ``reference`` (the composition
    root wires :meth:`bot.connector.client.ConnectorClient.get_team_channels`)."""

    async def __call__(self, reference: ConversationReference, team_id: str) -> list[str]: ...


class ReferenceCapture:
    """Captures (or retires) the conversation reference of each inbound turn.

    Args:
        store: Where references go: the process's one store (:mod:`bot.app` hands it in), so
            its memory of recent captures saves reads.
        clock: The current time; a turn's capture is ordered by when it was received.
        timeout_seconds: Longest a capture may hold up the turn.
        team_channels: Lists a team's channels, to store them all when the bot is added to a
            team; without it only the channels the bot hears from are stored.
    """

    def __init__(
        self,
        store: ReferenceStore,
        *,
        clock: Callable[[], datetime] = _utc_now,
        timeout_seconds: float = 5.0,
        team_channels: TeamChannels | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._timeout_seconds = timeout_seconds
        self._team_channels = team_channels

    async def on_turn(self, context: TurnContext, next: NextStep, /) -> None:
        """Capture the turn's reference, then run the rest of the turn."""
        received = self._clock()
        try:
            async with asyncio.timeout(self._timeout_seconds):
                outcome = await self._capture(context, received)
        except Exception as error:  # the user's turn matters more than bookkeeping
            logger.warning(
                "conversation reference capture failed: %s (status %s)",
                type(error).__name__,
                getattr(error, "status_code", None),
            )
            logger.debug("capture failure detail", exc_info=True)
        else:
            if outcome is not None:
                context.state[CAPTURE_OUTCOME] = outcome
        await next()

    async def _capture(
        self, context: TurnContext, received: datetime
    ) -> CaptureOutcome | InactiveReason | None:
        activity = context.activity
        if not _capturable(activity):
            return None
        place = TeamsPlace.of(activity.channel_data) if _teams(activity) else None
        event = _team_event(activity) if place is not None else None
        reason = _retirement(activity, event)
        tenant_id = (
            context.reference.conversation.tenant_id if context.reference.conversation else None
        )
        if place is not None and place.team_id is not None:
            revives = _revives(activity, event)
            if revives:
                for stored in await self._store.list_team(tenant_id, place.team_id):
                    await self._store.revive(stored, revives, now=received)
                outcome = await self._store.capture(
                    context.reference, context.identity.claims, now=received, place=place
                )
                if revives is _BOT_REASONS:
                    await self._store_channels(context, place.team_id, received)
                return outcome
            if reason is not None and reason is not InactiveReason.CHANNEL_DELETED:
                # The whole team: every channel the bot stored, and the team itself. One already
                # retired keeps its own reason (a deleted channel stays deleted when the team
                # comes back).
                for stored in await self._store.list_team(tenant_id, place.team_id):
                    if stored.active:
                        await self._store.mark_inactive(stored, reason, now=received)
                return reason
            if reason is InactiveReason.CHANNEL_DELETED:
                if place.channel_id is not None:
                    key = ReferenceKey(Channels.MSTEAMS, place.channel_id, tenant_id)
                    await self._store.mark_inactive(key, reason, now=received)
                return reason
        if reason is not None:
            await self._store.mark_inactive(context.reference, reason, now=received)
            return reason
        return await self._store.capture(
            context.reference, context.identity.claims, now=received, place=place
        )

    async def _store_channels(self, context: TurnContext, team_id: str, received: datetime) -> None:
        """Store every channel of a team the bot was just added to, so a send to a channel (or
        a broadcast to channels) finds it before anyone mentions the bot there."""
        if self._team_channels is None:
            return
        channel_ids = await self._team_channels(context.reference, team_id)
        for channel_id in channel_ids:
            channel = root_reference(context.reference).model_copy(deep=True)
            channel.user = None
            if channel.conversation is None:
                return
            channel.conversation.id = channel_id
            channel.conversation.conversation_type = "channel"
            channel.conversation.is_group = True
            await self._store.capture(
                channel,
                context.identity.claims,
                now=received,
                place=TeamsPlace(team_id, channel_id),
            )


def _capturable(activity: Activity) -> bool:
    # A proactive turn's activity is made up by the bot; only the channel's activities
    # say where a conversation lives.
    if is_continuation_activity(activity):
        return False
    conversation = activity.conversation
    return bool(
        activity.channel_id
        and activity.service_url
        and conversation is not None
        and conversation.id
    )


def _revives(activity: Activity, event: str | None) -> frozenset[str]:
    """What a team event makes active again: a restored team what its deletion retired, the
    bot added (or installed) again what its removal retired."""
    if event in _REVIVING_EVENTS:
        return _TEAM_REASONS
    added = activity.type == ActivityTypes.INSTALLATION_UPDATE and activity.action in (
        InstallationUpdateActions.ADD,
        InstallationUpdateActions.ADD_UPGRADE,
    )
    if activity.type == ActivityTypes.CONVERSATION_UPDATE and activity.recipient is not None:
        bot_id = activity.recipient.id
        added = bool(bot_id) and any(member.id == bot_id for member in activity.members_added or [])
    return _BOT_REASONS if added else frozenset()


def _teams(activity: Activity) -> bool:
    return activity.channel_id == Channels.MSTEAMS


def _team_event(activity: Activity) -> str | None:
    """The ``channelData.eventType`` of a Teams ``conversationUpdate``."""
    if activity.type != ActivityTypes.CONVERSATION_UPDATE:
        return None
    data = activity.channel_data
    event = data.get("eventType") if isinstance(data, Mapping) else None
    return event if isinstance(event, str) else None


def _retirement(activity: Activity, event: str | None = None) -> InactiveReason | None:
    if event in _RETIRING_EVENTS:
        return _RETIRING_EVENTS[event]
    if activity.type == ActivityTypes.INSTALLATION_UPDATE and activity.action in _REMOVE_ACTIONS:
        return InactiveReason.UNINSTALLED
    if activity.type == ActivityTypes.CONVERSATION_UPDATE and activity.recipient is not None:
        bot_id = activity.recipient.id
        removed = activity.members_removed or []
        if bot_id and any(member.id == bot_id for member in removed):
            return InactiveReason.BOT_REMOVED
    return None
