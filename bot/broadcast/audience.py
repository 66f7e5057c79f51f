"""Who a broadcast reaches: counted up front, then read page by page.

* A channel and/or tenant: every active stored conversation, read through
  :meth:`ReferenceStore.list` with its continuation (the cursor), so any audience size is
  read in pages of bounded size; counted with one ``COUNT`` query.
* A list of users (or of Entra object ids): the list kept in the operation document, read by
  offset (the cursor); each user's personal conversation is resolved (or, by object id,
  started) when their message is sent.
* A team's members: the team's roster read from the Connector
  (``GET /v3/conversations/{teamId}/pagedmembers``, the cursor is Teams' continuation token),
  one to one by object id. Counting reads the whole roster.
* ``conversationTypes`` narrows a channel or tenant audience to personal chats, group chats
  and/or channels; a channel is stored once however many threads it has
  (:mod:`bot.references.teams`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from bot.broadcast.ids import Recipient
from bot.broadcast.request import Audience
from bot.connector.client import ConnectorClient, connector_client
from bot.proactive.errors import ConversationInactiveError, UnknownConversationError
from bot.proactive.message import TEAMS_CHANNEL_ID
from bot.references import ReferenceKey, ReferenceStore
from bot.references.records import CONVERSATION_KIND
from bot.storage.containers import REFERENCES
from bot.storage.cosmos import container as named_container
from bot.throttling.governor import SendKey
from bot.throttling.sender import send_permit

if TYPE_CHECKING:
    from azure.cosmos.aio import ContainerProxy


ROSTER_PAGE_SIZE = 500
"""Members per roster page: the most Teams' ``pagedmembers`` returns."""


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
        store: The reference store (the process's one, from :mod:`bot.app`).
        references: Returns the ``references`` container, for counting.
    """

    def __init__(
        self,
        store: ReferenceStore,
        *,
        references: Callable[[], ContainerProxy] | None = None,
        connector: Callable[[], ConnectorClient] | None = None,
    ) -> None:
        self._store = store
        self._references = references or _references_container
        self._connector = connector or _connector

    async def count(self, audience: Audience) -> int:
        """How many recipients the audience has now (users: each listed user once).

        Raises:
            ProactiveError: A team the bot has not stored, or that is retired.
            ConnectorError: The team's roster could not be read.
        """
        if audience.users is not None or audience.aad_object_ids is not None:
            return len(audience.unique_users())
        if audience.team_id is not None:
            total, cursor = 0, None
            while True:
                page = await self._team_page(
                    audience.tenant_id or "", audience.team_id, cursor, ROSTER_PAGE_SIZE
                )
                total += len(page.recipients)
                if page.cursor is None:
                    return total
                cursor = page.cursor
        conditions = ["c.kind = @kind", "c.active = true"]
        parameters: list[dict[str, object]] = [{"name": "@kind", "value": CONVERSATION_KIND}]
        if audience.conversation_types is not None:
            conditions.append("ARRAY_CONTAINS(@types, c.conversationType)")
            parameters.append({"name": "@types", "value": list(audience.conversation_types)})
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
        tenant_id = audience.get("tenantId")
        users = audience.get("users")
        aad_object_ids = audience.get("aadObjectIds")
        listed_users = users if isinstance(users, list) else aad_object_ids
        if isinstance(listed_users, list):
            start = int(cursor or 0)
            chunk = listed_users[start : start + page_size]
            end = start + len(chunk)
            recipients = [
                Recipient(str(channel_id), user_id=str(user))
                if isinstance(users, list)
                else Recipient(str(channel_id), tenant_id=tenant_id, aad_object_id=str(user))
                for user in chunk
            ]
            return AudiencePage(recipients, str(end) if end < len(listed_users) else None)
        team_id = audience.get("teamId")
        if isinstance(team_id, str):
            return await self._team_page(
                str(tenant_id), team_id, cursor, min(page_size, ROSTER_PAGE_SIZE)
            )
        types = audience.get("conversationTypes")
        listed = await self._store.list(
            channel_id=channel_id,
            tenant_id=tenant_id,
            active=True,
            page_size=page_size,
            continuation=cursor,
            conversation_types=list(types) if isinstance(types, list) else None,
        )
        recipients = [
            Recipient(stored.channel_id, stored.conversation_id, tenant_id=stored.tenant_id)
            for stored in listed.items
        ]
        return AudiencePage(recipients, listed.continuation)

    async def _team_page(
        self, tenant_id: str, team_id: str, cursor: str | None, page_size: int
    ) -> AudiencePage:
        team = await self._store.get_by_key(ReferenceKey(TEAMS_CHANNEL_ID, team_id, tenant_id))
        if team is None:
            raise UnknownConversationError(
                "audience.teamId: the bot has not been added to this team (no stored reference)"
            )
        if not team.active:
            raise ConversationInactiveError(team.reason)
        # A roster read counts against the tenant's limit like a send: it waits for the governor.
        async with send_permit(SendKey(TEAMS_CHANNEL_ID, tenant_id)):
            page = await self._connector().get_conversation_paged_members(
                team.reference.service_url or "",
                team_id,
                page_size=page_size,
                continuation_token=cursor,
            )
        recipients = [
            Recipient(
                TEAMS_CHANNEL_ID, tenant_id=tenant_id, aad_object_id=member.aad_object_id.lower()
            )
            for member in page.members or []
            if member.aad_object_id
        ]
        return AudiencePage(recipients, page.continuation_token or None)


def _connector() -> ConnectorClient:
    return connector_client.get()


def _references_container() -> ContainerProxy:
    return named_container(REFERENCES.name)
