"""Who a broadcast reaches: counted up front, then read page by page.

* A channel and/or tenant: every active stored conversation, read through
  :meth:`ReferenceStore.list` with its continuation (the cursor), so any audience size is
  read in pages of bounded size; counted with one ``COUNT`` query.
* A list of users: the list kept in the operation document, read by offset (the cursor); each
  user's personal conversation is resolved when their message is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from bot.broadcast.ids import Recipient
from bot.broadcast.request import Audience
from bot.references import ReferenceStore
from bot.references.records import CONVERSATION_KIND
from bot.storage.containers import REFERENCES
from bot.storage.cosmos import container as named_container

if TYPE_CHECKING:
    from azure.cosmos.aio import ContainerProxy


@dataclass(frozen=True)
class AudiencePage:
    """One page of an audience.

    Attributes:
        recipients: Whom this page reaches.
        cursor: Where the next page starts; ``None`` after the last page.
    """

    recipients: list[Recipient]
    cursor: str | None


class AudienceReader:
    """Counts and pages audiences.

    Args:
        store: The reference store.
        references: Returns the ``references`` container, for counting.
    """

    def __init__(
        self,
        store: ReferenceStore | None = None,
        *,
        references: Callable[[], ContainerProxy] | None = None,
    ) -> None:
        self._store = store if store is not None else ReferenceStore()
        self._references = references or _references_container

    async def count(self, audience: Audience) -> int:
        """How many recipients the audience has now (users: each listed user once)."""
        if audience.users is not None:
            return len(audience.unique_users())
        conditions = ["c.kind = @kind", "c.active = true"]
        parameters: list[dict[str, object]] = [{"name": "@kind", "value": CONVERSATION_KIND}]
        for field, name, value in (
            ("channelId", "@channelId", audience.channel_id),
            ("tenantId", "@tenantId", audience.tenant_id),
        ):
            if value is not None:
                conditions.append(f"c.{field} = {name}")
                parameters.append({"name": name, "value": value})
        # Only the fixed fragments above go into the text; every value is a parameter.
        query = "SELECT VALUE COUNT(1) FROM c WHERE " + " AND ".join(conditions)  # noqa: S608
        total = 0
        async for count in self._references().query_items(query=query, parameters=parameters):
            total += int(cast("int", count))
        return total

    async def page(
        self, audience: Mapping[str, Any], cursor: str | None, page_size: int
    ) -> AudiencePage:
        """The page of the audience that starts at ``cursor`` (``None``: the first).

        Args:
            audience: The audience as stored (:meth:`Audience.to_wire`).
            cursor: The previous page's cursor.
            page_size: At most this many recipients.
        """
        channel_id = audience.get("channelId")
        users = audience.get("users")
        if isinstance(users, list):
            start = int(cursor or 0)
            chunk = users[start : start + page_size]
            end = start + len(chunk)
            return AudiencePage(
                [Recipient(str(channel_id), user_id=str(user)) for user in chunk],
                str(end) if end < len(users) else None,
            )
        listed = await self._store.list(
            channel_id=channel_id,
            tenant_id=audience.get("tenantId"),
            active=True,
            page_size=page_size,
            continuation=cursor,
        )
        recipients = [
            Recipient(stored.channel_id, stored.conversation_id, tenant_id=stored.tenant_id)
            for stored in listed.items
        ]
        return AudiencePage(recipients, listed.continuation)


def _references_container() -> ContainerProxy:
    return named_container(REFERENCES.name)
