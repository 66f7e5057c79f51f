"""The Cosmos DB containers the bot uses.

The Bicep templates and the local provisioning create exactly these. Every container but
``broadcasts`` is partitioned on ``/id``: documents are addressed by an HMAC id and read with
point reads, and the few queries (due schedules, audiences) filter on indexed fields.
``broadcasts`` keeps each operation in its own partition, so its progress is counted there.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ContainerSpec:
    """A container: its name, partition key path and the paths queries filter on."""

    name: str
    partition_key: str = "/id"
    indexed_paths: tuple[str, ...] = ()


REFERENCES = ContainerSpec(
    "references",
    indexed_paths=(
        "/kind/?",
        "/channelId/?",
        "/tenantId/?",
        "/conversationId/?",
        "/conversationKey/?",
        "/active/?",
    ),
)
"""Conversation references and the per-user index."""

DELIVERIES = ContainerSpec("deliveries")
"""Idempotency ledger and delivery receipts of proactive sends."""

SCHEDULES = ContainerSpec(
    "schedules",
    indexed_paths=(
        "/nextRunAt/?",
        "/enabled/?",
        "/pending/retryAt/?",
        "/conversation/channelId/?",
        "/conversation/conversationId/?",
        "/user/channelId/?",
        "/user/userId/?",
        "/createdAt/?",
    ),
)
"""Durable cron schedules: the tick's due query (``nextRunAt``, ``enabled``, ``pending``) and
the listing by target, oldest first (``createdAt``)."""

STATE = ContainerSpec("state")
"""User, conversation and private conversation state."""

THROTTLES = ContainerSpec("throttles")
"""Shared throttle records: a tenant the channel answered 429 for, until when (point reads)."""

BROADCASTS = ContainerSpec(
    "broadcasts",
    partition_key="/operationId",
    indexed_paths=("/operationId/?", "/kind/?", "/outcome/?"),
)
"""Broadcast operations and their recipients' outcomes, one partition per operation: the
progress is two single-partition counts (``kind``, ``outcome``)."""

INBOUND = ContainerSpec("inbound")
"""Claims of inbound activity ids (point creates): a channel's redelivery runs no second turn."""

ALL_CONTAINERS: tuple[ContainerSpec, ...] = (
    REFERENCES,
    DELIVERIES,
    SCHEDULES,
    STATE,
    THROTTLES,
    BROADCASTS,
    INBOUND,
)
