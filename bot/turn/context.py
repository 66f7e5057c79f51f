"""The turn context: one incoming activity, and everything a bot does in answer to it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Self, TypeVar

from bot.schema import (
    Activity,
    ActivityTypes,
    Channels,
    ConversationReference,
    DeliveryModes,
    InvokeResponse,
    ResourceResponse,
    apply_conversation_reference,
    assign_fields,
    construct_valid,
    copy_model,
    get_conversation_reference,
    is_continuation_activity,
)
from bot.turn.identity import ClaimsIdentity
from bot.turn.sender import ActivitySender
from bot.turn.state import TurnState

_A = TypeVar("_A")
_R = TypeVar("_R")

SendNext = Callable[[], Awaitable[list[ResourceResponse]]]
"""Continues a send: the next hook, or the actual send. Returns the responses."""
UpdateNext = Callable[[], Awaitable[ResourceResponse]]
"""Continues an update: the next hook, or the actual update."""
DeleteNext = Callable[[], Awaitable[None]]
"""Continues a delete: the next hook, or the actual delete."""

SendActivitiesHandler = Callable[
    ["TurnContext", list[Activity], SendNext], Awaitable[list[ResourceResponse] | None]
]
"""A hook on sends: ``(context, activities, next)``.

It may change the activities (the list and its items) before calling ``next()``, or not call
``next()`` at all to stop the send. Returning ``None`` returns what ``next()`` returned (or
id-less responses when ``next()`` was not called).
"""
UpdateActivityHandler = Callable[
    ["TurnContext", Activity, UpdateNext], Awaitable[ResourceResponse | None]
]
"""A hook on updates: ``(context, activity, next)``, like :data:`SendActivitiesHandler`."""
DeleteActivityHandler = Callable[
    ["TurnContext", ConversationReference, DeleteNext], Awaitable[None]
]
"""A hook on deletes: ``(context, reference, next)``; ``reference.activity_id`` is deleted."""

_NOT_SENT = frozenset({ActivityTypes.INVOKE_RESPONSE, ActivityTypes.TRACE})
"""Types the turn keeps (an invoke's answer) or sends only to the Emulator (traces)."""

_Hook = Callable[["TurnContext", _A, Callable[[], Awaitable[_R]]], Awaitable[_R | None]]


async def _run_hooks(
    context: TurnContext,
    hooks: Sequence[_Hook[_A, _R]],
    argument: _A,
    final: Callable[[], Awaitable[_R]],
    fallback: Callable[[], _R],
) -> _R:
    if not hooks:
        # The common case (no hook on this turn): no chain of closures to build.
        return await final()
    # A snapshot: a hook registered while this chain runs applies to the next operation.
    chain = tuple(hooks)

    async def step(index: int) -> _R:
        if index == len(chain):
            return await final()
        produced: list[_R] = []

        async def call_next() -> _R:
            result = await step(index + 1)
            produced.append(result)
            return result

        returned = await chain[index](context, argument, call_next)
        if returned is not None:
            return returned
        if produced:
            return produced[-1]
        return fallback()

    return await step(0)


class TurnContext:
    """One turn: the incoming activity, who sent it, and the means to answer.

    Outgoing activities are addressed from the incoming activity's conversation reference
    (channel, serviceUrl, conversation, bot as sender, user as recipient) and reply to it
    (``replyToId``), except in a proactive turn, whose incoming activity is synthetic: there,
    activities are posted to the conversation without ``replyToId``.

    Args:
        activity: The incoming activity (or the continuation activity of a proactive turn).
        sender: Where outgoing activities go.
        identity: The validated claims of the request; anonymous when not given.
    """

    def __init__(
        self,
        activity: Activity,
        sender: ActivitySender,
        identity: ClaimsIdentity | None = None,
    ) -> None:
        self._activity = activity
        self._sender = sender
        self._identity = identity if identity is not None else ClaimsIdentity.anonymous()
        self._reference = get_conversation_reference(activity)
        if is_continuation_activity(activity):
            # The continuation's id is made up; replying to it would ask the channel to
            # thread under a message that does not exist.
            self._reference.activity_id = None
        self.state = TurnState()
        """Values shared by middleware and handlers for this turn."""
        self._responded = False
        self._buffered_replies: list[Activity] = []
        self._invoke_response: InvokeResponse | None = None
        # Tuples, replaced when a hook is added: most turns add none, and share the empty one.
        self._send_hooks: tuple[SendActivitiesHandler, ...] = ()
        self._update_hooks: tuple[UpdateActivityHandler, ...] = ()
        self._delete_hooks: tuple[DeleteActivityHandler, ...] = ()

    @property
    def activity(self) -> Activity:
        """The incoming activity."""
        return self._activity

    @property
    def identity(self) -> ClaimsIdentity:
        """The claims of the request (or the bot's own, in a proactive turn)."""
        return self._identity

    @property
    def reference(self) -> ConversationReference:
        """A copy of the reference outgoing activities are addressed from."""
        return self._reference.model_copy(deep=True)

    @property
    def responded(self) -> bool:
        """Whether an activity other than a trace was sent (or buffered) in this turn."""
        return self._responded

    @property
    def expects_replies(self) -> bool:
        """Whether replies are buffered for the HTTP response (``deliveryMode: expectReplies``)."""
        return self._activity.delivery_mode == DeliveryModes.EXPECT_REPLIES

    @property
    def buffered_replies(self) -> list[Activity]:
        """The replies kept for the HTTP response of an ``expectReplies`` activity."""
        return list(self._buffered_replies)

    @property
    def invoke_response(self) -> InvokeResponse | None:
        """The answer to an ``invoke`` activity, once set."""
        return self._invoke_response

    @invoke_response.setter
    def invoke_response(self, response: InvokeResponse) -> None:
        self._invoke_response = response

    def on_send_activities(self, handler: SendActivitiesHandler) -> Self:
        """Add a hook that sees (and may change or stop) every send of this turn."""
        self._send_hooks += (handler,)
        return self

    def on_update_activity(self, handler: UpdateActivityHandler) -> Self:
        """Add a hook that sees (and may change or stop) every update of this turn."""
        self._update_hooks += (handler,)
        return self

    def on_delete_activity(self, handler: DeleteActivityHandler) -> Self:
        """Add a hook that sees (and may stop) every delete of this turn."""
        self._delete_hooks += (handler,)
        return self

    async def send_activity(self, activity_or_text: Activity | str) -> ResourceResponse:
        """Send one activity, or a text message.

        Args:
            activity_or_text: The activity (it is copied, not changed) or the text of a
                message.

        Returns:
            The Connector's response: the new activity's id (``None`` when buffered).
        """
        responses = await self.send_activities([activity_or_text])
        return responses[0] if responses else ResourceResponse()

    async def send_activities(self, activities: Sequence[Activity | str]) -> list[ResourceResponse]:
        """Send activities in order, through the send hooks.

        Each is copied and addressed to the turn's conversation; an explicit ``replyToId``
        is kept. ``invokeResponse`` activities set :attr:`invoke_response` instead of being
        sent, and ``trace`` activities only go to the Emulator.

        Args:
            activities: Activities or message texts.

        Returns:
            One response per activity, in order.
        """
        output = [self._outgoing(item) for item in activities]
        if not output:
            return []
        if not self._send_hooks:
            return await self._deliver(output)  # no hook: no chain, no closures
        return await _run_hooks(
            self,
            self._send_hooks,
            output,
            lambda: self._deliver(output),
            lambda: [ResourceResponse() for _ in output],
        )

    async def update_activity(self, activity: Activity) -> ResourceResponse:
        """Replace an activity the bot sent earlier, through the update hooks.

        Args:
            activity: The new content; ``activity.id`` names the activity to replace. It is
                copied and addressed to the turn's conversation.

        Raises:
            ValueError: ``activity.id`` is empty.
        """
        if not activity.id:
            raise ValueError("update_activity needs activity.id: the activity to replace")
        prepared = activity.model_copy(deep=True)
        reply_to_id = prepared.reply_to_id
        apply_conversation_reference(prepared, self._reference)
        prepared.reply_to_id = reply_to_id
        return await _run_hooks(
            self,
            self._update_hooks,
            prepared,
            lambda: self._sender.update_activity(self.reference, prepared),
            ResourceResponse,
        )

    async def delete_activity(self, activity_id_or_reference: str | ConversationReference) -> None:
        """Delete an activity, through the delete hooks.

        Args:
            activity_id_or_reference: The id of an activity in the turn's conversation, or a
                reference whose ``activity_id`` names the activity.

        Raises:
            ValueError: No activity id was given.
        """
        if isinstance(activity_id_or_reference, str):
            reference = self.reference
            reference.activity_id = activity_id_or_reference
        else:
            reference = activity_id_or_reference.model_copy(deep=True)
        if not reference.activity_id:
            raise ValueError("delete_activity needs the id of the activity to delete")

        async def delete() -> None:
            if not reference.activity_id:
                raise ValueError("a delete hook removed the id of the activity to delete")
            await self._sender.delete_activity(reference, reference.activity_id)

        await _run_hooks(self, self._delete_hooks, reference, delete, lambda: None)

    def _outgoing(self, item: Activity | str) -> Activity:
        if isinstance(item, str):
            # The most common send (a text); nothing in it to validate.
            activity = construct_valid(Activity, type=ActivityTypes.MESSAGE.value, text=item)
        else:
            activity = copy_model(item)
        explicit_reply_to_id = activity.reply_to_id
        apply_conversation_reference(activity, self._reference)
        # The channel assigns ids; one left over from a copied activity would be misleading.
        corrections: dict[str, str | None] = {"id": None}
        if explicit_reply_to_id:
            corrections["reply_to_id"] = explicit_reply_to_id
        assign_fields(activity, corrections)
        return activity

    async def _deliver(self, output: list[Activity]) -> list[ResourceResponse]:
        if not self.expects_replies and not any(activity.type in _NOT_SENT for activity in output):
            # The common case, every activity goes to the sender: its responses as they are.
            sent = await self._send(output)
            self._responded = True
            return sent
        responses: list[ResourceResponse] = [ResourceResponse() for _ in output]
        to_send: list[int] = []
        for index, activity in enumerate(output):
            if activity.type == ActivityTypes.INVOKE_RESPONSE:
                self._invoke_response = _invoke_response_of(activity)
            elif (
                activity.type == ActivityTypes.TRACE
                and self._activity.channel_id != Channels.EMULATOR
            ):
                continue  # traces are for the developer's Emulator only
            elif self.expects_replies:
                self._buffered_replies.append(activity)
            else:
                to_send.append(index)
        if to_send:
            sent = await self._send([output[index] for index in to_send])
            for index, response in zip(to_send, sent, strict=True):
                responses[index] = response
        if any(activity.type != ActivityTypes.TRACE for activity in output):
            self._responded = True
        return responses

    async def _send(self, activities: list[Activity]) -> list[ResourceResponse]:
        # The turn's own reference, not a copy (four model copies per send): senders read it
        # and never change it (the ActivitySender contract).
        sent = await self._sender.send_activities(self._reference, activities)
        if len(sent) != len(activities):
            raise RuntimeError(
                f"the sender answered {len(sent)} responses for {len(activities)} activities"
            )
        return sent


def _invoke_response_of(activity: Activity) -> InvokeResponse:
    value = activity.value
    if isinstance(value, InvokeResponse):
        return value
    return InvokeResponse.model_validate(value)
