"""The create-conversation operation: start a 1:1 chat with a user, then send into it.

:class:`~bot.proactive.chats.ChatStarter` asks the Connector for the conversation (Teams needs
the user's tenant and the bot installed for the user); the activities are then sent like any
send (:mod:`bot.proactive.sends`), under ``delivery_id`` when one is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.proactive.activities import ActivityLike, to_activities
from bot.proactive.chats import ChatStarter, ChatStartError
from bot.proactive.clouds import TeamsCloud
from bot.proactive.sends import SendFailedError, Sends
from bot.schema import ChannelAccount, Channels, ConversationReference


@dataclass(frozen=True)
class CreatedConversation:
    """A conversation the bot started.

    Attributes:
        reference: Where it lives (also stored, unless asked not to).
        activity_ids: The ids of the activities sent into it, in order.
    """

    reference: ConversationReference
    activity_ids: list[str | None] = field(default_factory=list)

    @property
    def conversation_id(self) -> str:
        """The new conversation's id."""
        conversation = self.reference.conversation
        return conversation.id or "" if conversation is not None else ""


class ConversationCreator:
    """Starts conversations and sends their first activities.

    Args:
        chats: Asks the Connector for the conversation and stores its reference.
        sends: Sends the first activities.
    """

    def __init__(self, chats: ChatStarter, sends: Sends) -> None:
        self._chats = chats
        self._sends = sends

    async def create_conversation(
        self,
        user: ChannelAccount | str,
        *,
        tenant_id: str | None = None,
        channel_id: str = Channels.MSTEAMS,
        service_url: str | None = None,
        cloud: TeamsCloud = TeamsCloud.PUBLIC,
        activities: Sequence[ActivityLike] = (),
        topic_name: str | None = None,
        channel_data: Any = None,
        remember: bool = True,
        delivery_id: str | None = None,
    ) -> CreatedConversation:
        """Start a 1:1 conversation with a user who may never have talked to the bot.

        Teams needs the user's tenant, and the bot must be installed for the user (else 403
        ``ForbiddenOperationException``); Teams answers with the existing chat if there is one.

        Args:
            user: The user's channel account or id (Teams: ``29:...``).
            tenant_id: The user's tenant; required for Teams.
            channel_id: The channel.
            service_url: The Connector endpoint; for Teams, ``cloud``'s global endpoint by
                default. Checked against the allow-list before any token is requested.
            cloud: The Microsoft 365 cloud of the tenant (Teams only).
            activities: Sent into the new conversation, in order.
            topic_name: The conversation's topic.
            channel_data: Channel-specific data; for Teams ``{"tenant": {"id": ...}}`` by
                default.
            remember: Store the new conversation's reference, so later sends can name it.
            delivery_id: Idempotency id of the send of ``activities``.

        Returns:
            The new conversation and the ids of the activities sent.

        Raises:
            InvalidTargetError: No tenant for Teams, or no serviceUrl for another channel.
            ServiceUrlRefusedError: The serviceUrl is not allowed.
            SendFailedError: The Connector refused or failed.
        """
        account = ChannelAccount(id=user) if isinstance(user, str) else user.model_copy(deep=True)
        to_send = to_activities(activities) if activities else []
        try:
            reference = await self._chats.start(
                account,
                tenant_id=tenant_id,
                channel_id=channel_id,
                service_url=service_url,
                cloud=cloud,
                topic_name=topic_name,
                channel_data=channel_data,
                remember=remember,
            )
        except ChatStartError as error:
            failure = error.failure
            raise SendFailedError(failure.code, failure.message, failure=failure) from None
        result = CreatedConversation(reference)
        if to_send:
            sent = await self._sends.send(reference, to_send, delivery_id=delivery_id)
            result.activity_ids.extend(sent.activity_ids)
        return result
