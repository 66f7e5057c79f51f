"""Routing a turn to a method by activity type, and events and invokes by name.

Subclass :class:`ActivityHandler` and override the ``on_...`` methods you need; each is an
``async`` method taking the turn context. Events and invokes are routed by name with
decorators::

    class MyBot(ActivityHandler):
        async def on_message_activity(self, context: TurnContext) -> None:
            await context.send_activity(f"You said: {context.activity.text}")

        @handles_event("timeZoneChanged")
        async def on_time_zone_changed(self, context: TurnContext) -> None: ...

        @handles_invoke("adaptiveCard/action")
        async def on_card_action(self, context: TurnContext) -> InvokeResponse:
            return InvokeResponse(status=200, body={...})
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from bot.schema import (
    ActivityTypes,
    ChannelAccount,
    InstallationUpdateActions,
    InvokeNames,
    InvokeResponse,
)
from bot.turn.context import TurnContext

_EVENT_ROUTE = "__bot_event_name__"
_INVOKE_ROUTE = "__bot_invoke_name__"

_Method = TypeVar("_Method", bound=Callable[..., Awaitable[Any]])

_ADD_ACTIONS = frozenset({InstallationUpdateActions.ADD, InstallationUpdateActions.ADD_UPGRADE})
_REMOVE_ACTIONS = frozenset(
    {InstallationUpdateActions.REMOVE, InstallationUpdateActions.REMOVE_UPGRADE}
)


def handles_event(name: str) -> Callable[[_Method], _Method]:
    """Route ``event`` activities named ``name`` to the decorated method.

    The method is ``async def method(self, context: TurnContext) -> None``. Names match
    exactly (case-sensitive), as in the Bot Framework SDKs.
    """

    def mark(method: _Method) -> _Method:
        setattr(method, _EVENT_ROUTE, name)
        return method

    return mark


def handles_invoke(name: str) -> Callable[[_Method], _Method]:
    """Route ``invoke`` activities named ``name`` to the decorated method.

    The method is ``async def method(self, context: TurnContext) -> InvokeResponse | None``;
    what it returns is the HTTP answer to the invoke (``None`` leaves it unanswered: 501).
    """

    def mark(method: _Method) -> _Method:
        setattr(method, _INVOKE_ROUTE, name)
        return method

    return mark


def _collect_routes(cls: type, marker: str) -> dict[str, str]:
    routes: dict[str, str] = {}
    # Base classes first, so a subclass's route for a name replaces its parent's.
    for klass in reversed(cls.__mro__):
        own: dict[str, str] = {}
        for attribute, value in vars(klass).items():
            name = getattr(value, marker, None)
            if not isinstance(name, str):
                continue
            if name in own:
                raise TypeError(
                    f"{klass.__name__}: both {own[name]} and {attribute} handle {name!r}"
                )
            own[name] = attribute
        routes.update(own)
    return routes


class ActivityHandler:
    """A bot whose turn is dispatched to one overridable method per kind of activity.

    Every method does nothing by default. Pass ``handler.on_turn`` as the turn logic to the
    adapter.
    """

    _event_routes: ClassVar[dict[str, str]] = {}
    _invoke_routes: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._event_routes = _collect_routes(cls, _EVENT_ROUTE)
        cls._invoke_routes = _collect_routes(cls, _INVOKE_ROUTE)

    async def on_turn(self, context: TurnContext) -> None:
        """Dispatch the turn by ``activity.type``."""
        match context.activity.type:
            case ActivityTypes.MESSAGE:
                await self.on_message_activity(context)
            case ActivityTypes.CONVERSATION_UPDATE:
                await self.on_conversation_update_activity(context)
            case ActivityTypes.EVENT:
                await self.on_event_activity(context)
            case ActivityTypes.INVOKE:
                response = await self.on_invoke_activity(context)
                # A handler may already have answered (an invokeResponse activity).
                if response is not None and context.invoke_response is None:
                    context.invoke_response = response
            case ActivityTypes.INSTALLATION_UPDATE:
                await self.on_installation_update_activity(context)
            case ActivityTypes.END_OF_CONVERSATION:
                await self.on_end_of_conversation_activity(context)
            case _:
                await self.on_unrecognized_activity_type(context)

    async def on_message_activity(self, context: TurnContext) -> None:
        """A ``message`` from the user."""

    async def on_conversation_update_activity(self, context: TurnContext) -> None:
        """A ``conversationUpdate``: calls :meth:`on_members_added` / :meth:`on_members_removed`.

        The bot itself (the activity's recipient) is left out of both lists; a method is
        called only when its list is not empty.
        """
        activity = context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        added = [member for member in activity.members_added or [] if member.id != bot_id]
        if added:
            await self.on_members_added(context, added)
        removed = [member for member in activity.members_removed or [] if member.id != bot_id]
        if removed:
            await self.on_members_removed(context, removed)

    async def on_members_added(self, context: TurnContext, members: list[ChannelAccount]) -> None:
        """Members other than the bot joined the conversation."""

    async def on_members_removed(self, context: TurnContext, members: list[ChannelAccount]) -> None:
        """Members other than the bot left the conversation."""

    async def on_event_activity(self, context: TurnContext) -> None:
        """An ``event``: calls its name's :func:`handles_event` method, else :meth:`on_event`."""
        name = context.activity.name
        route = self._event_routes.get(name) if name else None
        if route is not None:
            await getattr(self, route)(context)
        else:
            await self.on_event(context)

    async def on_event(self, context: TurnContext) -> None:
        """An ``event`` that no :func:`handles_event` method takes."""

    async def on_invoke_activity(self, context: TurnContext) -> InvokeResponse | None:
        """An ``invoke``: calls the :func:`handles_invoke` method of its name.

        Without one, ``adaptiveCard/action`` goes to :meth:`on_adaptive_card_action`; any
        other name is unhandled (``None``), which the adapter answers with 501.
        """
        name = context.activity.name
        route = self._invoke_routes.get(name) if name else None
        if route is not None:
            response: InvokeResponse | None = await getattr(self, route)(context)
            return response
        if name == InvokeNames.ADAPTIVE_CARD_ACTION:
            return await self.on_adaptive_card_action(context)
        return None

    async def on_adaptive_card_action(self, context: TurnContext) -> InvokeResponse | None:
        """An Adaptive Card ``Action.Execute`` (``adaptiveCard/action``); unhandled by default."""
        return None

    async def on_installation_update_activity(self, context: TurnContext) -> None:
        """An ``installationUpdate``: calls the add or remove method by ``activity.action``."""
        action = context.activity.action
        if action in _ADD_ACTIONS:
            await self.on_installation_update_add(context)
        elif action in _REMOVE_ACTIONS:
            await self.on_installation_update_remove(context)

    async def on_installation_update_add(self, context: TurnContext) -> None:
        """The bot was installed (``add``) or upgraded (``add-upgrade``)."""

    async def on_installation_update_remove(self, context: TurnContext) -> None:
        """The bot was uninstalled (``remove``, ``remove-upgrade``)."""

    async def on_end_of_conversation_activity(self, context: TurnContext) -> None:
        """The channel or user ended the conversation (``endOfConversation``)."""

    async def on_unrecognized_activity_type(self, context: TurnContext) -> None:
        """Any other type: ``typing``, ``messageReaction``, ``messageUpdate``, unknown types."""
