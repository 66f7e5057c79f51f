"""How an activity is addressed: conversation references, replies, continuations.

These follow botbuilder's ``TurnContext.get_conversation_reference`` /
``apply_conversation_reference``, ``Activity.create_reply`` and
``ConversationReference.get_continuation_activity``, so a reference stored by another Bot
Framework SDK behaves the same here.
"""

from __future__ import annotations

import os
from typing import TypeVar

from bot.schema.activity import Activity
from bot.schema.channels import Channels
from bot.schema.enums import ActivityEventNames, ActivityTypes
from bot.schema.reference import ConversationReference
from bot.schema.wire_model import WireModel, assign_fields, construct_valid, copy_model

_M = TypeVar("_M", bound=WireModel)

_NO_REPLY_TO_CONVERSATION_UPDATE = frozenset({Channels.DIRECTLINE, Channels.WEBCHAT})
"""Direct Line and Web Chat reject a reply to a conversationUpdate (botbuilder does the same)."""


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
"""The RFC 4122 variant's first hex digit, for each random one (its top bits set to ``10``)."""


def new_activity_id() -> str:
    """A random (version 4) UUID string, as ``str(uuid.uuid4())`` gives.

    Every proactive turn makes one; formatting 16 random bytes directly costs a third of
    building a ``uuid.UUID`` object first.
    """
    digits = os.urandom(16).hex()
    return (
        f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-"
        f"{_VARIANT[digits[16]]}{digits[17:20]}-{digits[20:]}"
    )


def _copy(model: _M | None) -> _M | None:
    # References outlive the turn (they are stored); sharing nested models with the activity
    # would let a later change to one silently change the other.
    return None if model is None else copy_model(model)


def _reply_target(activity: Activity) -> str | None:
    if (
        activity.type == ActivityTypes.CONVERSATION_UPDATE
        and activity.channel_id in _NO_REPLY_TO_CONVERSATION_UPDATE
    ):
        return None
    return activity.id


def get_conversation_reference(activity: Activity) -> ConversationReference:
    """The reference of the conversation an incoming activity belongs to.

    The user is the activity's sender and the bot its recipient. The result can be stored
    (``reference.to_wire()``) and used later to message the conversation proactively.

    Args:
        activity: An activity received from a channel.

    Returns:
        A new reference; it shares no objects with ``activity``.
    """
    # Every value comes from a validated activity, so the reference is built without
    # validating them again (a proactive send builds one per turn).
    return construct_valid(
        ConversationReference,
        activity_id=_reply_target(activity),
        user=_copy(activity.from_),
        bot=_copy(activity.recipient),
        conversation=_copy(activity.conversation),
        channel_id=activity.channel_id,
        service_url=activity.service_url,
        locale=activity.locale,
    )


def apply_conversation_reference(
    activity: Activity, reference: ConversationReference, is_incoming: bool = False
) -> Activity:
    """Address an activity to the conversation of a reference, in place.

    Sets ``channelId``, ``serviceUrl`` and ``conversation``, and ``locale`` when the activity
    has none. An outgoing activity (the default) goes from the reference's bot to its user
    and, when the reference names an activity, replies to it (``replyToId``). An incoming one
    goes from the user to the bot and takes the reference's activity id as its own.

    Args:
        activity: The activity to address; it is changed.
        reference: Where it goes.
        is_incoming: Address it as if the user had sent it.

    Returns:
        ``activity`` itself, for chaining.
    """
    values: dict[str, object] = {
        "channel_id": reference.channel_id,
        "service_url": reference.service_url,
        "conversation": _copy(reference.conversation),
    }
    if activity.locale is None:
        values["locale"] = reference.locale
    if is_incoming:
        values["from_"] = _copy(reference.user)
        values["recipient"] = _copy(reference.bot)
        if reference.activity_id:
            values["id"] = reference.activity_id
    else:
        values["from_"] = _copy(reference.bot)
        values["recipient"] = _copy(reference.user)
        if reference.activity_id:
            values["reply_to_id"] = reference.activity_id
    # One assignment of the already-valid values (every outgoing activity goes through here).
    assign_fields(activity, values)
    return activity


def create_reply(
    activity: Activity, text: str | None = None, locale: str | None = None
) -> Activity:
    """A message replying to an incoming activity.

    Args:
        activity: The activity to answer.
        text: The reply's text.
        locale: The reply's locale; the incoming activity's locale when not given.

    Returns:
        A ``message`` from the incoming recipient to the incoming sender, in the same
        conversation, with ``replyToId`` naming the incoming activity.
    """
    return Activity(
        type=ActivityTypes.MESSAGE,
        channel_id=activity.channel_id,
        service_url=activity.service_url,
        conversation=_copy(activity.conversation),
        from_=_copy(activity.recipient),
        recipient=_copy(activity.from_),
        reply_to_id=_reply_target(activity),
        text=text,
        locale=locale or activity.locale,
    )


def get_continuation_activity(reference: ConversationReference) -> Activity:
    """The synthetic activity that starts a proactive turn in a referenced conversation.

    An ``event`` named ``ContinueConversation`` from the reference's user to its bot, with
    a fresh id and ``relatesTo`` holding the reference, as the Bot Framework SDKs build it.

    Args:
        reference: The conversation to continue.

    Returns:
        A new activity; it shares no objects with ``reference``.
    """
    # Built without validation: every value is the validated reference's own or made here.
    # The activity's accounts are copies; ``relatesTo`` is a copy of the reference that
    # shares those copies (as botbuilder's does), rather than copying them a second time.
    conversation = _copy(reference.conversation)
    user = _copy(reference.user)
    bot = _copy(reference.bot)
    relates_to = copy_model(reference, user=user, bot=bot, conversation=conversation)
    return construct_valid(
        Activity,
        type=ActivityTypes.EVENT.value,  # plain strings, as validation would have made them
        name=ActivityEventNames.CONTINUE_CONVERSATION.value,
        id=new_activity_id(),
        channel_id=reference.channel_id,
        service_url=reference.service_url,
        conversation=conversation,
        from_=user,
        recipient=bot,
        locale=reference.locale,
        relates_to=relates_to,
    )


def is_continuation_activity(activity: Activity) -> bool:
    """Whether an activity is a synthetic continuation (see :func:`get_continuation_activity`)."""
    return (
        activity.type == ActivityTypes.EVENT
        and activity.name == ActivityEventNames.CONTINUE_CONVERSATION
    )
