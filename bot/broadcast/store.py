"""Broadcast operations and their recipients' outcomes (Cosmos DB container ``broadcasts``).

Partitioned on ``/operationId``: an operation and everything about it live in one partition,
so its progress is counted there with two single-partition ``COUNT`` queries.

* The operation document (``kind: "operation"``, ``id`` = the operation id) holds what to
  send and to whom, the audience count, and the fan-out's cursor::

      {"id": "7f3a...", "operationId": "7f3a...", "kind": "operation",
       "audience": {...}, "activities": [...], "notBefore": null, "expiresAt": null,
       "payloadHash": "sha256:...", "audienceCount": 1000,
       "fanOut": {"nextPage": 4, "queuedPage": 4, "cursor": "...", "enqueued": 1000,
                  "completed": true, "completedAt": "..."},
       "createdAt": "...", "updatedAt": "...", "ttl": 2592000}

  It changes only with an ``If-Match`` on its ``_etag``, so two workers on the same page
  cannot both advance it.
* One document per recipient that reached a final outcome (``kind: "recipient"``, ``id`` =
  ``r:<token>``): ``outcome`` (``Delivered``, ``Failed``, ``Refused``...) and the error
  ``code``. Written with an upsert, so recording the same recipient again (a repeated queue
  message, a retry after a crash) changes nothing: the counts are right however often and
  however concurrently outcomes are recorded. No raw user or conversation id is stored here.
* One document per recipient and edit or recall of the broadcast that finished
  (``kind: "edit-recipient"``, ``id`` = ``e<number>:<token>``), alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from bot.broadcast.records import OutcomeCounts
from bot.storage.containers import BROADCASTS
from bot.storage.cosmos import container as named_container
from bot.storage.timestamps import to_timestamp

if TYPE_CHECKING:
    from azure.cosmos.aio import ContainerProxy

OPERATION_KIND = "operation"
RECIPIENT_KIND = "recipient"
EDIT_RECIPIENT_KIND = "edit-recipient"
DELIVERED = "Delivered"
DEFAULT_TTL_SECONDS = 30 * 86_400
"""An operation and its outcomes are kept 30 days after their last change."""
MAX_REPORTED_FAILURES = 10_000
"""Failed recipients read to break the failures down by code (the counts stay exact)."""


def recipient_document_id(token: str) -> str:
    """The id of a recipient's outcome document."""
    return f"r:{token}"


class OperationStore:
    """Operations and outcomes in the ``broadcasts`` container.

    Args:
        container: Returns the container; the process-wide one when omitted.
        ttl_seconds: Cosmos DB ``ttl`` of every document, from its last write.
    """

    def __init__(
        self,
        *,
        container: Callable[[], ContainerProxy] | None = None,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
    ) -> None:
        self._container = container or _broadcasts_container
        self.ttl_seconds = ttl_seconds

    async def create(self, document: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create an operation document, or return the one that has its id.

        Returns:
            The stored document and whether this call created it.
        """
        from azure.cosmos.exceptions import CosmosResourceExistsError

        body = {**document, "ttl": self.ttl_seconds}
        try:
            return dict(await self._container().create_item(body)), True
        except CosmosResourceExistsError:
            existing = await self.get(document["id"])
            if existing is None:  # deleted in between: a very unlikely race; try once more
                return dict(await self._container().create_item(body)), True
            return existing, False

    async def get(self, operation_id: str) -> dict[str, Any] | None:
        """The operation document (``None`` when there is none)."""
        from azure.cosmos.exceptions import CosmosResourceNotFoundError

        try:
            document = await self._container().read_item(operation_id, partition_key=operation_id)
        except CosmosResourceNotFoundError:
            return None
        return dict(document) if document.get("kind") == OPERATION_KIND else None

    async def replace(self, document: dict[str, Any]) -> dict[str, Any] | None:
        """Write a changed operation document under the ``_etag`` it was read with.

        Returns:
            The stored document, or ``None`` when someone else changed it meanwhile (read it
            again and decide again).
        """
        from azure.core import MatchConditions
        from azure.cosmos.exceptions import (
            CosmosAccessConditionFailedError,
            CosmosResourceNotFoundError,
        )

        body = {key: value for key, value in document.items() if not key.startswith("_")} | {
            "ttl": self.ttl_seconds
        }
        try:
            written = await self._container().replace_item(
                document["id"],
                body,
                etag=document["_etag"],
                match_condition=MatchConditions.IfNotModified,
            )
        except (CosmosAccessConditionFailedError, CosmosResourceNotFoundError):
            return None
        return dict(written)

    async def record_outcome(
        self, operation_id: str, token: str, outcome: str, code: str | None, *, now: datetime
    ) -> None:
        """Record a recipient's final outcome (idempotent)."""
        await self._container().upsert_item(
            {
                "id": recipient_document_id(token),
                "operationId": operation_id,
                "kind": RECIPIENT_KIND,
                "outcome": outcome,
                "code": code,
                "updatedAt": to_timestamp(now),
                "ttl": self.ttl_seconds,
            }
        )

    async def record_edit_outcome(
        self,
        operation_id: str,
        number: int,
        token: str,
        outcome: str,
        code: str | None,
        *,
        now: datetime,
    ) -> None:
        """Record how edit ``number`` ended for a recipient (idempotent)."""
        await self._container().upsert_item(
            {
                "id": f"e{number}:{token}",
                "operationId": operation_id,
                "kind": EDIT_RECIPIENT_KIND,
                "edit": number,
                "outcome": outcome,
                "code": code,
                "updatedAt": to_timestamp(now),
                "ttl": self.ttl_seconds,
            }
        )

    async def count_edit_outcomes(self, operation_id: str, number: int) -> OutcomeCounts:
        """How many recipients edit ``number`` finished for, and how many it changed."""
        finished = delivered = 0
        failures: Counter[str] = Counter()
        items = self._container().query_items(
            query=(
                "SELECT c.outcome, c.code FROM c WHERE c.operationId = @op"
                " AND c.kind = @kind AND c.edit = @edit"
            ),
            parameters=[
                {"name": "@op", "value": operation_id},
                {"name": "@kind", "value": EDIT_RECIPIENT_KIND},
                {"name": "@edit", "value": number},
            ],
            partition_key=operation_id,
            max_item_count=1000,
        )
        async for item in items:
            finished += 1
            if item.get("outcome") == DELIVERED:
                delivered += 1
            else:
                failures[str(item.get("code") or item.get("outcome") or "Unknown")] += 1
        return OutcomeCounts(finished, delivered, dict(failures))

    async def delivered_page(
        self, operation_id: str, after: str | None, size: int
    ) -> tuple[list[str], str | None]:
        """One page of the tokens of recipients whose message was delivered, in id order.

        Keyset paging (``id > after``) rather than continuation tokens: the cursor is small,
        stable across SDK versions, and survives documents added meanwhile.

        Returns:
            The page's tokens and the cursor of the next page (``None`` after the last).
        """
        parameters: list[dict[str, object]] = [
            *_parameters(operation_id, delivered=True),
            {"name": "@after", "value": after or ""},
        ]
        items = self._container().query_items(
            query=(
                "SELECT c.id FROM c WHERE c.operationId = @op AND c.kind = @kind"
                " AND c.outcome = @delivered AND c.id > @after ORDER BY c.id"
            ),
            parameters=parameters,
            partition_key=operation_id,
            max_item_count=size,
        )
        ids: list[str] = []
        async for item in items:
            ids.append(str(item["id"]))
            if len(ids) == size:
                break
        tokens = [item.removeprefix("r:") for item in ids]
        return tokens, (ids[-1] if len(ids) == size else None)

    async def count_outcomes(self, operation_id: str) -> OutcomeCounts:
        """How many recipients finished, were delivered, and failed by code."""
        base = "SELECT VALUE COUNT(1) FROM c WHERE c.operationId = @op AND c.kind = @kind"
        finished = await self._scalar(base, operation_id, delivered=False)
        delivered = await self._scalar(
            base + " AND c.outcome = @delivered", operation_id, delivered=True
        )
        failures: Counter[str] = Counter()
        if finished > delivered:
            items = self._container().query_items(
                query=(
                    "SELECT c.outcome, c.code FROM c WHERE c.operationId = @op"
                    " AND c.kind = @kind AND c.outcome != @delivered"
                ),
                parameters=_parameters(operation_id, delivered=True),
                partition_key=operation_id,
                max_item_count=1000,
            )
            async for item in items:
                failures[str(item.get("code") or item.get("outcome") or "Unknown")] += 1
                if sum(failures.values()) >= MAX_REPORTED_FAILURES:
                    break
        return OutcomeCounts(finished, delivered, dict(failures))

    async def _scalar(self, query: str, operation_id: str, *, delivered: bool) -> int:
        items = self._container().query_items(
            query=query,
            parameters=_parameters(operation_id, delivered=delivered),
            partition_key=operation_id,
        )
        total = 0
        async for value in items:
            total += int(cast("int", value))
        return total


def _parameters(operation_id: str, *, delivered: bool) -> list[dict[str, object]]:
    # The emulator ignores partition_key: the partition is also named in the query text.
    parameters: list[dict[str, object]] = [
        {"name": "@op", "value": operation_id},
        {"name": "@kind", "value": RECIPIENT_KIND},
    ]
    if delivered:
        parameters.append({"name": "@delivered", "value": DELIVERED})
    return parameters


def _broadcasts_container() -> ContainerProxy:
    return named_container(BROADCASTS.name)
