"""Parameters: values from the assistant's state that skills declare they want each turn.

The Virtual Assistant passes a skill the user's data it asked for in its registration
(``"parameters": ["timezone"]``) rather than letting every skill dig it out of activities. Here
the assistant keeps what activities tell about the user in user state (so a proactive or event
turn still knows the user's zone), and each turn gives a skill exactly the parameters it
declared:

* ``timezone``: the IANA zone of the activity (``localTimezone``, or a ``clientInfo``
  entity), else the last one the user's activities carried, else the default zone;
* ``locale``: the activity's ``locale``, else the last one seen, else ``None``;
* ``userName``: the display name of the activity's sender, else ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.state import BOT_STATE, StateProperty, StateScopeUnavailableError, user_property
from bot.time_zones import user_time_zone
from bot.turn import TurnContext

TIMEZONE = "timezone"
LOCALE = "locale"
USER_NAME = "userName"
KNOWN_PARAMETERS: frozenset[str] = frozenset({TIMEZONE, LOCALE, USER_NAME})
"""The parameters a skill may declare."""

USER_TIMEZONE = user_property("assistant.timezone", str | None, default=None)
"""The user's zone, as their activities last said."""
USER_LOCALE = user_property("assistant.locale", str | None, default=None)
"""The user's locale, as their activities last said."""


async def remember_user_context(context: TurnContext) -> None:
    """Keep the zone and locale the turn's activity carries in user state.

    Nothing happens without bot state, or for an activity with no sender.
    """
    state = context.state.get(BOT_STATE)
    if state is None:
        return
    zone = user_time_zone(context.activity, default="")
    locale = context.activity.locale
    try:
        if zone and await state.get(USER_TIMEZONE) != zone:
            await state.set(USER_TIMEZONE, zone)
        if locale and await state.get(USER_LOCALE) != locale:
            await state.set(USER_LOCALE, locale)
    except StateScopeUnavailableError:
        return  # no from.id: there is no user to remember things about


async def resolve_parameters(
    context: TurnContext, names: Iterable[str], *, default_timezone: str
) -> dict[str, str | None]:
    """The values of the named parameters for this turn.

    Args:
        context: The turn.
        names: The parameters a skill declared (from :data:`KNOWN_PARAMETERS`).
        default_timezone: The zone of a user whose zone is not known.

    Returns:
        Each name with its value (``None`` when unknown).
    """
    activity = context.activity
    values: dict[str, str | None] = {}
    for name in names:
        if name == TIMEZONE:
            zone = user_time_zone(activity, default="") or await _remembered(context, USER_TIMEZONE)
            values[name] = zone or default_timezone
        elif name == LOCALE:
            values[name] = activity.locale or await _remembered(context, USER_LOCALE)
        elif name == USER_NAME:
            sender = activity.from_
            values[name] = sender.name if sender is not None and sender.name else None
        else:
            values[name] = None
    return values


async def _remembered(context: TurnContext, prop: StateProperty[str | None]) -> str | None:
    state = context.state.get(BOT_STATE)
    if state is None:
        return None
    try:
        return await state.get(prop)
    except StateScopeUnavailableError:
        return None
