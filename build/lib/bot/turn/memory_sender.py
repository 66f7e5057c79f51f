"""An :class:`~bot.turn.sender.ActivitySender` that keeps everything in memory (for tests)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.schema import Activity, ConversationReference, ResourceResponse


@dataclass
class SentActivity:
    """One activity handed to the sender, with where it went and the id it got."""

    reference: ConversationReference
    activity: Activity
    id: str


@dataclass
class InMemorySender:
    """Records sends, updates and deletes instead of calling a channel.

    Sent activities get ids ``activity-1``, ``activity-2``... Updates and deletes apply to the
    recorded activities, so a test can check the conversation as the user would see it.

    Attributes:
        sent: Every activity sent, in order.
        updated: Every activity passed to an update, in order.
        deleted: The ids deleted, in order.
    """

    sent: list[SentActivity] = field(default_factory=list)
    updated: list[Activity] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    async def send_activities(
        self, reference: ConversationReference, activities: Sequence[Activity]
    ) -> list[ResourceResponse]:
        """Record the activities and answer with fresh ids."""
        responses = []
        for activity in activities:
            activity_id = f"activity-{next(self._ids)}"
            stored = activity.model_copy(deep=True)
            stored.id = activity_id
            self.sent.append(SentActivity(reference.model_copy(deep=True), stored, activity_id))
            responses.append(ResourceResponse(id=activity_id))
        return responses

    async def update_activity(
        self, reference: ConversationReference, activity: Activity
    ) -> ResourceResponse:
        """Record the update and replace the sent activity with the same id."""
        del reference
        if not activity.id:
            raise ValueError("update_activity needs the id of the activity to replace")
        self.updated.append(activity.model_copy(deep=True))
        for sent in self.sent:
            if sent.id == activity.id:
                sent.activity = activity.model_copy(deep=True)
        return ResourceResponse(id=activity.id)

    async def delete_activity(self, reference: ConversationReference, activity_id: str) -> None:
        """Record the delete and forget the sent activity."""
        del reference
        self.deleted.append(activity_id)
        self.sent = [sent for sent in self.sent if sent.id != activity_id]

    @property
    def activities(self) -> list[Activity]:
        """The activities currently in the conversation (sent, updated, not deleted)."""
        return [sent.activity for sent in self.sent]

    @property
    def texts(self) -> list[str | None]:
        """The text of each activity currently in the conversation."""
        return [sent.activity.text for sent in self.sent]
