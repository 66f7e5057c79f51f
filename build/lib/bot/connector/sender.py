"""The turn's :class:`~bot.turn.sender.ActivitySender`, implemented over the Connector.

The conversation reference says where (``serviceUrl``, checked against the allow-list before
any token) and which conversation; an activity with a ``replyToId`` is posted as a reply to
that activity, any other as a new message, in order. Special activity types (``delay``,
``invokeResponse``, ``trace``) are the turn's business and never reach this class.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.connector.client import ConnectorClient, connector_client
from bot.connector.errors import ConnectorError
from bot.schema import Activity, ConversationReference, ResourceResponse


def _address(reference: ConversationReference) -> tuple[str, str]:
    conversation_id = reference.conversation.id if reference.conversation else None
    if not conversation_id:
        raise ConnectorError(
            None, "InvalidId", "the conversation reference has no conversation id", transient=False
        )
    # A missing serviceUrl is refused by the allow-list check, before any token.
    return reference.service_url or "", conversation_id


class ConnectorSender:
    """Sends a turn's activities through the Bot Connector.

    Args:
        client: Returns the Connector client; the process-wide one by default.
    """

    def __init__(self, client: Callable[[], ConnectorClient] = connector_client.get) -> None:
        self._client = client

    async def send_activities(
        self, reference: ConversationReference, activities: Sequence[Activity]
    ) -> list[ResourceResponse]:
        """Send the activities in order; one response per activity.

        Raises:
            ServiceUrlNotAllowed: The reference's serviceUrl is not allowed (nothing sent).
            TokenAcquisitionError: The bot's token could not be obtained.
            ConnectorError: The Connector refused one; the earlier ones were sent.
        """
        service_url, conversation_id = _address(reference)
        client = self._client()
        responses: list[ResourceResponse] = []
        for activity in activities:
            if activity.reply_to_id:
                response = await client.reply_to_activity(
                    service_url, conversation_id, activity.reply_to_id, activity
                )
            else:
                response = await client.send_to_conversation(service_url, conversation_id, activity)
            responses.append(response)
        return responses

    async def update_activity(
        self, reference: ConversationReference, activity: Activity
    ) -> ResourceResponse:
        """Replace the activity whose id is ``activity.id``.

        Raises:
            ServiceUrlNotAllowed: The reference's serviceUrl is not allowed.
            TokenAcquisitionError: The bot's token could not be obtained.
            ConnectorError: The Connector refused it, or ``activity.id`` is missing.
        """
        service_url, conversation_id = _address(reference)
        return await self._client().update_activity(
            service_url, conversation_id, activity.id or "", activity
        )

    async def delete_activity(self, reference: ConversationReference, activity_id: str) -> None:
        """Delete the activity ``activity_id``.

        Raises:
            ServiceUrlNotAllowed: The reference's serviceUrl is not allowed.
            TokenAcquisitionError: The bot's token could not be obtained.
            ConnectorError: The Connector refused it.
        """
        service_url, conversation_id = _address(reference)
        await self._client().delete_activity(service_url, conversation_id, activity_id)
