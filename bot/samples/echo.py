"""The sample bot: welcomes new members, takes reminder commands, echoes the rest.

It is the bot ``/api/messages`` runs; replace it with your own :class:`ActivityHandler`.

It also shows Universal Actions: the ``incident-alert`` card (``config/cards``), sent
proactively with a template id and data, or by saying ``alert``, has an "Acknowledge"
``Action.Execute``. Pressing it answers the card "Acknowledged by <name>" and updates the
message for everyone; the first acknowledgement is kept in conversation state, so a second
press (from another user, or a stale card) changes nothing. The acknowledged card's ``refresh``
lists the acknowledging user, whose client alone gets a view with an "Undo" button (per-user
views); undoing shows everyone the alert unacknowledged again.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from bot.cards import ADAPTIVE_CARD_CONTENT_TYPE
from bot.cards.actions import ACTION_INVOKE, CardAction, CardActionResult, CardActions
from bot.cards.attachments import load_template
from bot.cards.templating import expand
from bot.proactive.card_updates import update_card_for_everyone
from bot.samples.skills.briefing import daily_briefing, event_zone
from bot.schedules.chat import BRIEFING_EVENT, handle_schedule_command
from bot.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    InvokeResponse,
    remove_recipient_mention,
)
from bot.state import bot_state, conversation_property
from bot.turn import ActivityHandler, TurnContext, handles_event, handles_invoke

WELCOME_TEXT = "Welcome! Send me a message and I will echo it back."
ECHO_PREFIX = "You said: "
NO_TEXT_REPLY = "I can only echo text messages."
ALERT_COMMAND = "alert"
INCIDENT_TEMPLATE = "incident-alert"
ACKNOWLEDGED = conversation_property("incidents.acknowledged", dict, default_factory=dict)
"""Incident id → who acknowledged it first: ``{"name", "userId"}`` (a bare name before undo
existed)."""
ACKNOWLEDGER_VIEW = "acknowledgerView"
"""The ``refresh`` verb: the acknowledging user's own view of an acknowledged alert."""
UNDO = "undoAcknowledge"
"""The verb of the "Undo" button only the acknowledging user sees."""

card_actions = CardActions(update_for_everyone=update_card_for_everyone)
"""The sample's ``Action.Execute`` verbs; an update of a proactive card is a version of its
delivery."""


def incident_card(data: dict[str, Any]) -> dict[str, Any]:
    """The incident alert card for ``data`` (``incidentId``, ``title``, ``severity``, and
    ``acknowledgedBy`` once acknowledged)."""
    card = expand(load_template(INCIDENT_TEMPLATE), data)
    if not isinstance(card, dict):
        raise TypeError(f"the {INCIDENT_TEMPLATE} template does not expand to a card")
    return card


def acknowledged_card(
    incident: dict[str, Any], name: str, user_id: str | None, *, own_view: bool = False
) -> dict[str, Any]:
    """The alert as acknowledged by ``name``: everyone's view, or (``own_view``) the
    acknowledging user's, with an "Undo" button.

    Everyone's view carries ``refresh`` with ``userIds`` [the acknowledging user]: that user's
    client asks for its own view (verb :data:`ACKNOWLEDGER_VIEW`), the others see the card as
    sent (docs/cards.md).
    """
    card = incident_card({**incident, "acknowledgedBy": name})
    if user_id:
        card["refresh"] = {
            "action": {"type": "Action.Execute", "verb": ACKNOWLEDGER_VIEW, "data": incident},
            "userIds": [user_id],
        }
    if own_view:
        card["actions"] = [
            {"type": "Action.Execute", "title": "Undo", "verb": UNDO, "data": incident}
        ]
    return card


def _incident(action: CardAction) -> dict[str, Any]:
    return {name: action.data.get(name) for name in ("incidentId", "title", "severity")}


def _first(acknowledged: dict[str, Any], key: str) -> tuple[str, str | None]:
    """Name and user id of who acknowledged incident ``key`` first."""
    entry = acknowledged[key]
    if isinstance(entry, dict):
        return str(entry.get("name") or "someone"), entry.get("userId")
    return str(entry), None


@card_actions.verb("acknowledge")
async def acknowledge(context: TurnContext, action: CardAction) -> CardActionResult:
    """Record the first acknowledgement and show it to everyone; later presses change nothing."""
    incident = _incident(action)
    key = str(incident["incidentId"])
    state = bot_state(context)
    acknowledged: dict[str, Any] = await state.get(ACKNOWLEDGED)
    first = key not in acknowledged
    if first:
        user = action.user
        acknowledged[key] = {
            "name": (user.name if user else None) or "someone",
            "userId": user.id if user else None,
        }
        await state.set(ACKNOWLEDGED, acknowledged)
    name, user_id = _first(acknowledged, key)
    card = acknowledged_card(incident, name, user_id)
    return CardActionResult(card=card, update_for_everyone=first)


@card_actions.verb(ACKNOWLEDGER_VIEW)
async def acknowledger_view(context: TurnContext, action: CardAction) -> CardActionResult:
    """The automatic refresh of the acknowledging user: their view, with "Undo"."""
    incident = _incident(action)
    acknowledged: dict[str, Any] = await bot_state(context).get(ACKNOWLEDGED)
    key = str(incident["incidentId"])
    if key not in acknowledged:
        return CardActionResult(card=incident_card(incident))
    name, user_id = _first(acknowledged, key)
    mine = action.user is not None and action.user.id == user_id
    return CardActionResult(card=acknowledged_card(incident, name, user_id, own_view=mine))


@card_actions.verb(UNDO)
async def undo_acknowledge(context: TurnContext, action: CardAction) -> CardActionResult:
    """The acknowledging user takes it back: everyone sees the alert unacknowledged again."""
    incident = _incident(action)
    key = str(incident["incidentId"])
    state = bot_state(context)
    acknowledged: dict[str, Any] = await state.get(ACKNOWLEDGED)
    if key not in acknowledged:
        return CardActionResult(card=incident_card(incident))
    name, user_id = _first(acknowledged, key)
    if action.user is None or action.user.id != user_id:
        return CardActionResult(card=acknowledged_card(incident, name, user_id))
    del acknowledged[key]
    await state.set(ACKNOWLEDGED, acknowledged)
    return CardActionResult(card=incident_card(incident), update_for_everyone=True)


class EchoBot(ActivityHandler):
    """Welcomes members once per conversation update and echoes text messages."""

    async def on_members_added(self, context: TurnContext, members: list[ChannelAccount]) -> None:
        """Say welcome once, however many members joined at the same time."""
        del members
        await context.send_activity(WELCOME_TEXT)

    async def on_message_activity(self, context: TurnContext) -> None:
        """Reminder commands ("remind me every day at 8:30 to stretch"), else echo the text.

        The echo leaves out the @mention of the bot that channel messages carry.
        """
        if await handle_schedule_command(context):
            return
        text = remove_recipient_mention(context.activity)
        if text and text.strip().lower() == ALERT_COMMAND:
            await context.send_activity(_alert())
            return
        await context.send_activity(f"{ECHO_PREFIX}{text}" if text else NO_TEXT_REPLY)

    @handles_event(BRIEFING_EVENT)
    async def on_scheduled_briefing(self, context: TurnContext) -> None:
        """A scheduled briefing fired ("every day at 8:30 send me a briefing"): composed now."""
        now = datetime.now(UTC)
        await context.send_activity(await daily_briefing(now, event_zone(context)))

    @handles_invoke(ACTION_INVOKE)
    async def on_card_action(self, context: TurnContext) -> InvokeResponse:
        """``Action.Execute`` presses, routed by verb (:data:`card_actions`)."""
        return await card_actions.answer(context)


def _alert() -> Activity:
    data = {
        "incidentId": f"INC-{uuid.uuid4().hex[:6]}",
        "title": "Disk almost full",
        "severity": "high",
    }
    return Activity(
        type=ActivityTypes.MESSAGE,
        attachments=[
            Attachment(content_type=ADAPTIVE_CARD_CONTENT_TYPE, content=incident_card(data))
        ],
    )
