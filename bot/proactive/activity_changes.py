"""Replace or delete one activity the bot sent, by its id, straight through the Connector.

Unlike an edit of a delivery (:mod:`bot.proactive.edits`, once per operation id, recorded as
a version in the ledger), these act on any activity id the caller names and record nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.auth.errors import ServiceUrlNotAllowed, TokenAcquisitionError
from bot.connector.errors import ConnectorError
from bot.proactive.activities import ActivityLike, to_activities
from bot.proactive.delivery import Deliverer
from bot.proactive.message import Target
from bot.proactive.sends import request_failed
from bot.proactive.targets import ResolvedTarget
from bot.schema import apply_conversation_reference
from bot.turn.sender import ActivitySender


class ActivityChanges:
    """Updates and deletes sent activities.

    Args:
        resolve: Resolves and checks a target (``TargetResolver.resolve``).
        sender: Puts and deletes activities (the governed Connector sender).
        deliverer: Retires a conversation the Connector says is gone.
    """

    def __init__(
        self,
        *,
        resolve: Callable[[Target], Awaitable[ResolvedTarget]],
        sender: ActivitySender,
        deliverer: Deliverer,
    ) -> None:
        self._resolve = resolve
        self._sender = sender
        self._deliverer = deliverer

    async def update_activity(
        self, target: Target, activity_id: str, activity: ActivityLike
    ) -> str | None:
        """Replace an activity the bot sent earlier (``PUT .../activities/{id}``).

        Returns:
            The activity's id as the Connector answers it.

        Raises:
            InvalidMessageError: ``activity`` is not an activity.
            ProactiveError: The conversation was refused.
            SendFailedError: The Connector refused (404 ``ActivityNotFoundInConversation``...).
        """
        [replacement] = to_activities([activity])
        resolved = await self._resolve(target)
        outgoing = replacement.model_copy(deep=True)
        apply_conversation_reference(outgoing, resolved.reference)
        outgoing.id = activity_id
        try:
            response = await self._sender.update_activity(resolved.reference, outgoing)
        except (ConnectorError, ServiceUrlNotAllowed, TokenAcquisitionError) as error:
            raise await request_failed(self._deliverer, error, resolved, []) from None
        return response.id or activity_id

    async def delete_activity(self, target: Target, activity_id: str) -> None:
        """Delete an activity the bot sent earlier.

        Raises:
            ProactiveError: The conversation was refused.
            SendFailedError: The Connector refused.
        """
        resolved = await self._resolve(target)
        try:
            await self._sender.delete_activity(resolved.reference, activity_id)
        except (ConnectorError, ServiceUrlNotAllowed, TokenAcquisitionError) as error:
            raise await request_failed(self._deliverer, error, resolved, []) from None
