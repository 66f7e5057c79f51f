"""The conversation reference store (Cosmos DB container ``references``).

Every write is optimistic: a first write is ``create_item`` (409 means someone else created it:
read again and decide again), later writes are ``replace_item`` conditioned on the ``_etag`` that
was read (412 means someone else wrote in between: read again and decide again), with a bounded
number of rounds. What "decide" means is in :mod:`bot.references.documents`: the newest event
wins, so parallel turns lose no update and never roll the document back.

Costs: an unchanged reference costs one point read and no write, or nothing at all when this
process captured it moments ago (:mod:`bot.references.recent`); a changed one costs a read and a
write, plus a read and a write of the user index for a personal conversation, and a read (a
write when new) of the conversation index. A conversation id without its tenant costs point
reads only: the conversation index names the tenant's document (O(1) whatever the number of
stored conversations). A reference stored before the index existed is found once by a query,
which writes its index entry (read repair), and by point reads afterwards.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from bot.references.documents import (
    captured_document,
    conversation_index_document,
    filter_claims,
    fingerprint,
    inactive_document,
    plan_capture,
    plan_conversation_index,
    plan_inactive,
    plan_user_index,
    reference_wire,
    revivable,
    revived_document,
    to_record,
    user_index_document,
)
from bot.references.recent import RecentCaptures
from bot.references.records import (
    CONVERSATION_KIND,
    AmbiguousReferenceError,
    CaptureOutcome,
    ReferenceConflictError,
    ReferenceKey,
    ReferencePage,
    StoredReference,
    aad_user_index_id,
    conversation_index_id,
    user_index_id,
)
from bot.references.teams import TeamsPlace, root_reference
from bot.schema.reference import ConversationReference
from bot.settings import get_settings
from bot.storage.containers import REFERENCES
from bot.storage.cosmos import container as named_container

if TYPE_CHECKING:
    from datetime import datetime

    from azure.cosmos.aio import ContainerProxy

MAX_PAGE_SIZE = 1000

ReferenceTarget = ReferenceKey | StoredReference | ConversationReference
"""Anything that names a stored conversation."""


@dataclass
class StoreStats:
    """Requests this store made: instrumentation for tests and benchmarks."""

    reads: int = 0
    writes: int = 0
    queries: int = 0


class ReferenceStore:
    """Conversation references, captured on every inbound turn and read to speak first.

    Args:
        container: Returns the ``references`` container client; the process-wide one when
            omitted.
        ttl_seconds: Cosmos DB ``ttl`` of a reference, counted from its last write;
            ``REFERENCE_TTL_DAYS`` when omitted.
        refresh_interval: An unchanged reference is written again (``lastSeen``, ``ttl``) once
            its ``lastSeen`` is this old.
        recent_window: How long this process trusts its own recent capture of a reference
            without reading it; ``timedelta(0)`` turns the memory off.
        recent_size: How many recent captures it remembers.
        max_attempts: Read-decide-write rounds before a conflict is given up.
    """

    def __init__(
        self,
        *,
        container: Callable[[], ContainerProxy] | None = None,
        ttl_seconds: int | None = None,
        refresh_interval: timedelta = timedelta(days=1),
        recent_window: timedelta = timedelta(seconds=30),
        recent_size: int = 1024,
        max_attempts: int = 32,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._container = container or _references_container
        self._ttl_seconds = ttl_seconds
        self._refresh_interval = refresh_interval
        self._recent = RecentCaptures(recent_window, recent_size)
        self._max_attempts = max_attempts
        self.stats = StoreStats()

    async def capture(
        self,
        reference: ConversationReference,
        claims: Mapping[str, object] | None = None,
        *,
        now: datetime,
        place: TeamsPlace | None = None,
    ) -> CaptureOutcome:
        """Store the reference of an inbound turn, writing only when that changes something.

        A Teams channel thread's reference is stored as its channel's
        (:mod:`bot.references.teams`).

        Args:
            reference: The turn's conversation reference.
            claims: The caller's identity claims; only :data:`~bot.references.documents.
                PERSISTED_CLAIMS` are kept.
            now: When the turn was received: it orders this capture among parallel ones.
            place: The Teams team and channel the activity names, kept with the reference.

        Returns:
            What was done.

        Raises:
            ValueError: The reference lacks ``channelId`` or ``conversation.id``.
            ReferenceConflictError: Writers kept conflicting for ``max_attempts`` rounds.
        """
        reference = root_reference(reference)
        key = ReferenceKey.of(reference)
        wire = reference_wire(reference)
        kept_claims = filter_claims(claims)
        new_fingerprint = fingerprint(wire, kept_claims)
        document_id = key.id
        if self._recent.fresh(document_id, new_fingerprint, now):
            return CaptureOutcome.CACHED
        container = self._container()
        for _ in range(self._max_attempts):
            existing = await self._read(container, document_id)
            outcome = plan_capture(existing, new_fingerprint, now, self._refresh_interval, place)
            if outcome is CaptureOutcome.STALE:
                return outcome
            if outcome is CaptureOutcome.UNCHANGED:
                self._recent.remember(document_id, new_fingerprint, now)
                return outcome
            body = captured_document(existing, key, wire, kept_claims, now, self._ttl(), place)
            written = await self._write(container, body, existing)
            if written is None:
                continue
            self._recent.remember(document_id, new_fingerprint, now)
            if written["personal"]:
                for index_id in _user_index_ids(written):
                    await self._index_user(container, index_id, written)
            if key.tenant_id is not None:
                await self._index_conversation(container, written)
            return outcome
        raise ReferenceConflictError(f"capture gave up after {self._max_attempts} conflicts")

    async def mark_inactive(
        self, target: ReferenceTarget, reason: str, *, now: datetime
    ) -> StoredReference | None:
        """Retire a conversation: sends to it are refused until an inbound turn revives it.

        For an uninstall, the bot's removal from the conversation, and the Connector's
        ``BotNotInConversationRoster``, ``ConversationBlockedByUser``, ``BotDisabledByAdmin``
        (403) and ``ConversationNotFound`` (404) answers.

        Args:
            target: The conversation.
            reason: Why (an :class:`~bot.references.records.InactiveReason` value, or any
                string).
            now: When the event happened; an inbound turn newer than this keeps it active.

        Returns:
            The stored reference afterwards, or ``None`` when none is stored.

        Raises:
            ReferenceConflictError: Writers kept conflicting for ``max_attempts`` rounds.
        """

        def retire(existing: dict[str, Any]) -> dict[str, Any] | None:
            if plan_inactive(existing, reason, now) != "write":
                return None
            return inactive_document(existing, reason, now)

        key = _key_of(target)
        try:
            return await self._rewrite(key, retire, "mark_inactive")
        finally:
            # A capture running alongside may have remembered the active state meanwhile.
            self._recent.forget(key.id)

    async def revive(
        self, target: ReferenceTarget, reasons: frozenset[str], *, now: datetime
    ) -> StoredReference | None:
        """Make a conversation retired for one of ``reasons`` active again (``teamRestored``).

        A conversation retired for another reason (the bot removed, a user's block) stays
        retired, and so does one retired after ``now``.

        Returns:
            The stored reference afterwards, or ``None`` when none is stored.

        Raises:
            ReferenceConflictError: Writers kept conflicting for ``max_attempts`` rounds.
        """

        def revive(existing: dict[str, Any]) -> dict[str, Any] | None:
            if not revivable(existing, reasons, now):
                return None
            return revived_document(existing, now)

        return await self._rewrite(_key_of(target), revive, "revive")

    async def _rewrite(
        self,
        key: ReferenceKey,
        change: Callable[[dict[str, Any]], dict[str, Any] | None],
        what: str,
    ) -> StoredReference | None:
        """Read, decide and write a stored conversation under its etag until no one interferes.

        ``change`` gives the new document, or ``None`` to leave the stored one as it is.
        """
        container = self._container()
        self._recent.forget(key.id)
        for _ in range(self._max_attempts):
            existing = await self._read(container, key.id)
            if existing is None:
                return None
            body = change(existing)
            if body is None:
                return to_record(existing)
            written = await self._write(container, body, existing)
            if written is not None:
                return to_record(written)
        raise ReferenceConflictError(f"{what} gave up after {self._max_attempts} conflicts")

    async def list_team(
        self, tenant_id: str | None, team_id: str
    ) -> builtins.list[StoredReference]:
        """Every stored conversation of a Teams team: its channels (General is the team's id)."""
        conditions = "c.kind = @kind AND c.channelId = @channelId AND c.teamId = @teamId"
        parameters: dict[str, object] = {
            "@kind": CONVERSATION_KIND,
            "@channelId": "msteams",
            "@teamId": team_id,
        }
        if tenant_id:
            conditions += " AND c.tenantId = @tenantId"
            parameters["@tenantId"] = tenant_id
        # Only the fixed fragments above go into the text; every value is a parameter.
        query = "SELECT * FROM c WHERE " + conditions  # noqa: S608
        matches = await self._query(self._container(), query, parameters)
        general = ReferenceKey("msteams", team_id, tenant_id)
        if all(match.key != general for match in matches):
            stored = await self.get_by_key(general)
            if stored is not None:
                matches.append(stored)
        return matches

    async def get(
        self, channel_id: str, conversation_id: str, tenant_id: str | None = None
    ) -> StoredReference | None:
        """The stored reference of a conversation.

        Without ``tenant_id``, a channel with tenants (Teams) is looked up through the
        conversation index (point reads), and more than one tenant's match is an error rather
        than a guess.

        Raises:
            AmbiguousReferenceError: ``tenant_id`` was omitted and several tenants match.
        """
        container = self._container()
        key = ReferenceKey(channel_id, conversation_id, tenant_id)
        record = await self._read_record(container, key.id)
        if record is not None or key.tenant_id is not None:
            return record
        index = await self._read(container, conversation_index_id(channel_id, conversation_id))
        if index is not None:
            keys = [k for k in index.get("conversationKeys") or [] if isinstance(k, str)]
            found = [r for k in keys if (r := await self._read_record(container, k)) is not None]
            if len(found) > 1:
                raise AmbiguousReferenceError(found)
            if found:
                return found[0]
        # Stored before the index existed (or unknown): one query, then the index is repaired.
        matches = await self._query(
            container,
            "SELECT * FROM c WHERE c.kind = @kind AND c.channelId = @channelId"
            " AND c.conversationId = @conversationId",
            {
                "@kind": CONVERSATION_KIND,
                "@channelId": channel_id,
                "@conversationId": conversation_id,
            },
        )
        for match in matches:
            document = await self._read(container, match.key.id)
            if document is not None:
                await self._index_conversation(container, document)
        if len(matches) > 1:
            raise AmbiguousReferenceError(matches)
        return matches[0] if matches else None

    async def get_by_key(self, key: ReferenceKey) -> StoredReference | None:
        """The stored reference of an exact key (one point read)."""
        return await self._read_record(self._container(), key.id)

    async def get_for_user(self, channel_id: str, user_id: str) -> StoredReference | None:
        """The user's latest personal (1:1) conversation on a channel: two point reads."""
        return await self._indexed(user_index_id(channel_id, user_id))

    async def get_for_aad_user(
        self, channel_id: str, tenant_id: str, aad_object_id: str
    ) -> StoredReference | None:
        """A tenant's user's latest personal conversation, by Entra object id: two point reads."""
        return await self._indexed(aad_user_index_id(channel_id, tenant_id, aad_object_id))

    async def _indexed(self, index_id: str) -> StoredReference | None:
        container = self._container()
        index = await self._read(container, index_id)
        if index is None or not isinstance(index.get("conversationKey"), str):
            return None
        return await self._read_record(container, index["conversationKey"])

    async def find_by_conversation_id(self, conversation_id: str) -> builtins.list[StoredReference]:
        """Every stored reference with this conversation id, across channels and tenants.

        More than one means the id alone is ambiguous (the HTTP layer answers 409).
        """
        return await self._query(
            self._container(),
            "SELECT * FROM c WHERE c.kind = @kind AND c.conversationId = @conversationId",
            {"@kind": CONVERSATION_KIND, "@conversationId": conversation_id},
        )

    async def list(
        self,
        *,
        channel_id: str | None = None,
        tenant_id: str | None = None,
        active: bool | None = None,
        page_size: int = 100,
        continuation: str | None = None,
        conversation_types: builtins.list[str] | None = None,
    ) -> ReferencePage:
        """One page of stored references, filtered.

        Args:
            channel_id: Only this channel's.
            tenant_id: Only this tenant's.
            active: Only active (``True``) or inactive (``False``) ones.
            conversation_types: Only these (Teams ``personal``, ``groupChat``, ``channel``).
            page_size: At most this many (1 to 1,000).
            continuation: The ``continuation`` of the previous page.

        Returns:
            The page and the continuation of the next one (``None`` after the last).
        """
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1 to {MAX_PAGE_SIZE}")
        conditions = ["c.kind = @kind"]
        parameters: dict[str, object] = {"@kind": CONVERSATION_KIND}
        for field, name, value in (
            ("channelId", "@channelId", channel_id),
            ("tenantId", "@tenantId", tenant_id),
            ("active", "@active", active),
        ):
            if value is not None:
                conditions.append(f"c.{field} = {name}")
                parameters[name] = value
        if conversation_types is not None:
            conditions.append("ARRAY_CONTAINS(@types, c.conversationType)")
            parameters["@types"] = conversation_types
        # Only the fixed fragments above go into the text; every value is a parameter.
        query = "SELECT * FROM c WHERE " + " AND ".join(conditions)  # noqa: S608
        from azure.core.async_paging import AsyncPageIterator

        items_paged = self._container().query_items(
            query=query, parameters=_parameters(parameters), max_item_count=page_size
        )
        pages = cast("AsyncPageIterator[dict[str, Any]]", items_paged.by_page(continuation))
        self.stats.queries += 1
        items: builtins.list[StoredReference] = []
        async for page in pages:
            items.extend([to_record(document) async for document in page])
            break
        # Cosmos DB may end a page early, even empty, and still have more: only the
        # continuation says whether this was the last page.
        return ReferencePage(items=items, continuation=pages.continuation_token or None)

    async def delete(self, target: ReferenceTarget) -> bool:
        """Delete a stored reference (and the user index entry naming it).

        Returns:
            Whether there was one.
        """
        from azure.cosmos.exceptions import CosmosResourceNotFoundError

        key = _key_of(target)
        container = self._container()
        self._recent.forget(key.id)
        existing = await self._read(container, key.id)
        try:
            await container.delete_item(key.id, partition_key=key.id)
        except CosmosResourceNotFoundError:
            return False
        self.stats.writes += 1
        if existing is not None:
            for index_id in _user_index_ids(existing):
                await self._unindex_user(container, index_id, existing)
        return True

    def _ttl(self) -> int:
        if self._ttl_seconds is not None:
            return self._ttl_seconds
        return get_settings().reference_ttl_days * 86_400

    async def _index_user(
        self, container: ContainerProxy, index_id: str, conversation: dict[str, Any]
    ) -> None:
        await self._write_index(
            container, index_id, conversation, plan_user_index, user_index_document, "user"
        )

    async def _index_conversation(
        self, container: ContainerProxy, conversation: dict[str, Any]
    ) -> None:
        """Make the conversation index name ``conversation``'s document, and live as long."""
        index_id = conversation_index_id(conversation["channelId"], conversation["conversationId"])
        await self._write_index(
            container,
            index_id,
            conversation,
            plan_conversation_index,
            conversation_index_document,
            "conversation",
        )

    async def _write_index(
        self,
        container: ContainerProxy,
        index_id: str,
        conversation: dict[str, Any],
        plan: Callable[[Mapping[str, Any] | None, Mapping[str, Any]], bool],
        document: Callable[[Mapping[str, Any] | None, str, Mapping[str, Any]], dict[str, Any]],
        name: str,
    ) -> None:
        """Write an index document when ``plan`` says it must change (etag-conditioned)."""
        for _ in range(self._max_attempts):
            existing = await self._read(container, index_id)
            if not plan(existing, conversation):
                return
            body = document(existing, index_id, conversation)
            if await self._write(container, body, existing) is not None:
                return
        raise ReferenceConflictError(f"{name} index gave up after {self._max_attempts} conflicts")

    async def _unindex_user(
        self, container: ContainerProxy, index_id: str, conversation: dict[str, Any]
    ) -> None:
        from azure.core import MatchConditions
        from azure.cosmos.exceptions import (
            CosmosAccessConditionFailedError,
            CosmosResourceNotFoundError,
        )

        index = await self._read(container, index_id)
        if index is None or index.get("conversationKey") != conversation["id"]:
            return
        try:
            await container.delete_item(
                index_id,
                partition_key=index_id,
                etag=index["_etag"],
                match_condition=MatchConditions.IfNotModified,
            )
        except (CosmosAccessConditionFailedError, CosmosResourceNotFoundError):
            # Repointed or gone meanwhile: either way it no longer names this conversation.
            return
        self.stats.writes += 1

    async def _read(self, container: ContainerProxy, document_id: str) -> dict[str, Any] | None:
        from azure.cosmos.exceptions import CosmosResourceNotFoundError

        self.stats.reads += 1
        try:
            return dict(await container.read_item(document_id, partition_key=document_id))
        except CosmosResourceNotFoundError:
            return None

    async def _read_record(
        self, container: ContainerProxy, document_id: str
    ) -> StoredReference | None:
        document = await self._read(container, document_id)
        if document is None or document.get("kind") != CONVERSATION_KIND:
            return None
        return to_record(document)

    async def _write(
        self,
        container: ContainerProxy,
        body: dict[str, Any],
        existing: Mapping[str, Any] | None,
    ) -> dict[str, Any] | None:
        """Create (no ``existing``) or replace under ``existing``'s etag; ``None`` on a conflict."""
        from azure.core import MatchConditions
        from azure.cosmos.exceptions import (
            CosmosAccessConditionFailedError,
            CosmosResourceExistsError,
            CosmosResourceNotFoundError,
        )

        self.stats.writes += 1
        try:
            if existing is None:
                return dict(await container.create_item(body))
            return dict(
                await container.replace_item(
                    body["id"],
                    body,
                    etag=existing["_etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
            )
        except (
            CosmosResourceExistsError,
            CosmosAccessConditionFailedError,
            CosmosResourceNotFoundError,
        ):
            # Created, changed or deleted by someone else since the read: decide again.
            return None

    async def _query(
        self, container: ContainerProxy, query: str, parameters: dict[str, object]
    ) -> builtins.list[StoredReference]:
        self.stats.queries += 1
        # Parameterized: a value is never part of the query text (no injection).
        items = container.query_items(query=query, parameters=_parameters(parameters))
        return [to_record(document) async for document in items]


def _user_index_ids(conversation: Mapping[str, Any]) -> builtins.list[str]:
    """The user index documents that may name a personal conversation document."""
    channel_id = conversation["channelId"]
    ids: builtins.list[str] = []
    if conversation.get("userId"):
        ids.append(user_index_id(channel_id, conversation["userId"]))
    aad_object_id = conversation.get("userAadObjectId")
    if aad_object_id and conversation.get("tenantId"):
        ids.append(aad_user_index_id(channel_id, conversation["tenantId"], aad_object_id))
    return ids


def _parameters(values: Mapping[str, object]) -> builtins.list[dict[str, object]]:
    return [{"name": name, "value": value} for name, value in values.items()]


def _key_of(target: ReferenceTarget) -> ReferenceKey:
    if isinstance(target, ReferenceKey):
        return target
    if isinstance(target, StoredReference):
        return target.key
    return ReferenceKey.of(target)


def _references_container() -> ContainerProxy:
    return named_container(REFERENCES.name)
