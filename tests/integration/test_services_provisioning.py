"""Provisioning creates the queues and containers, and a second run changes nothing."""

from __future__ import annotations

import uuid

import pytest
from azure.storage.queue import QueueServiceClient

from bot.storage.containers import DELIVERIES
from dev.services import RunningServices
from dev.services.provisioning import provision

pytestmark = pytest.mark.services


def test_proactive_and_poison_queues_exist(local_services: RunningServices) -> None:
    name = local_services.env["PROACTIVE_QUEUE_NAME"]
    connection = local_services.env["AzureWebJobsStorage"]

    with QueueServiceClient.from_connection_string(connection) as client:
        names = {queue.name for queue in client.list_queues()}

    assert {name, f"{name}-poison"} <= names


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_second_provisioning_keeps_containers_documents_and_messages(
    local_services: RunningServices,
) -> None:
    from azure.cosmos import CosmosClient

    env = local_services.env
    marker = f"keep-{uuid.uuid4()}"
    with (
        CosmosClient(env["COSMOS_ENDPOINT"], env["COSMOS_KEY"], connection_verify=False) as cosmos,
        QueueServiceClient.from_connection_string(env["AzureWebJobsStorage"]) as storage,
    ):
        database = cosmos.get_database_client(env["COSMOS_DATABASE"])
        container = database.get_container_client(DELIVERIES.name)
        before = container.read()
        container.create_item({"id": marker})
        queue = storage.get_queue_client(env["PROACTIVE_QUEUE_NAME"] + "-poison")
        sent = queue.send_message(marker, visibility_timeout=300)

        provision(env)

        after = container.read()
        assert (after["_rid"], after["_etag"]) == (before["_rid"], before["_etag"])
        assert container.read_item(marker, partition_key=marker)["id"] == marker
        container.delete_item(marker, partition_key=marker)
        # Deleting by pop receipt fails (404) if the queue was recreated and lost the message.
        queue.delete_message(sent)
