"""The local Cosmos DB emulator answers the way real Cosmos DB does where the bot relies on it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
from azure.core import MatchConditions
from azure.cosmos import exceptions
from azure.cosmos.aio import CosmosClient

from bot.storage.containers import ALL_CONTAINERS, DELIVERIES
from dev.services import RunningServices

if TYPE_CHECKING:
    from azure.cosmos.aio import DatabaseProxy

pytestmark = pytest.mark.services


@pytest.fixture
async def database(local_services: RunningServices) -> AsyncIterator[DatabaseProxy]:
    env = local_services.env
    async with CosmosClient(
        env["COSMOS_ENDPOINT"], credential=env["COSMOS_KEY"], connection_verify=False
    ) as client:
        yield client.get_database_client(env["COSMOS_DATABASE"])


async def test_every_container_exists_with_its_partition_key_and_ttl(
    database: DatabaseProxy,
) -> None:
    for spec in ALL_CONTAINERS:
        properties = await database.get_container_client(spec.name).read()
        assert properties["partitionKey"]["paths"] == [spec.partition_key]
        assert properties["defaultTtl"] == -1


async def test_missing_point_read_is_404(database: DatabaseProxy) -> None:
    container = database.get_container_client(DELIVERIES.name)
    missing = f"missing-{uuid.uuid4()}"

    with pytest.raises(exceptions.CosmosResourceNotFoundError) as raised:
        await container.read_item(missing, partition_key=missing)

    assert raised.value.status_code == 404


async def test_create_of_an_existing_id_is_409(database: DatabaseProxy) -> None:
    container = database.get_container_client(DELIVERIES.name)
    item = {"id": f"dup-{uuid.uuid4()}", "value": 1}
    await container.create_item(item)

    with pytest.raises(exceptions.CosmosResourceExistsError) as raised:
        await container.create_item(item)

    assert raised.value.status_code == 409


async def test_replace_with_a_stale_etag_is_412_and_a_fresh_one_succeeds(
    database: DatabaseProxy,
) -> None:
    container = database.get_container_client(DELIVERIES.name)
    created = await container.create_item({"id": f"etag-{uuid.uuid4()}", "value": 1})
    updated = await container.replace_item(created["id"], {**_body(created), "value": 2})
    assert updated["_etag"] != created["_etag"]

    with pytest.raises(exceptions.CosmosAccessConditionFailedError) as raised:
        await container.replace_item(
            created["id"],
            {**_body(created), "value": 3},
            etag=created["_etag"],
            match_condition=MatchConditions.IfNotModified,
        )
    assert raised.value.status_code == 412

    replaced = await container.replace_item(
        created["id"],
        {**_body(updated), "value": 4},
        etag=updated["_etag"],
        match_condition=MatchConditions.IfNotModified,
    )
    assert replaced["value"] == 4
    stored = await container.read_item(created["id"], partition_key=created["id"])
    assert stored["value"] == 4


def _body(document: dict[str, object]) -> dict[str, object]:
    """The user fields of a stored document, without the system properties."""
    return {key: value for key, value in document.items() if not key.startswith("_")}
