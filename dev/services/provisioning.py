"""Create what the bot expects to exist: the Cosmos database and containers, and the queues.

Every step is "create if missing", so provisioning twice changes nothing.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Mapping

from bot.storage.containers import ALL_CONTAINERS

REQUEST_TIMEOUT_SECONDS = 10


def provision(settings: Mapping[str, str]) -> None:
    """Provision the Cosmos database, every container and the proactive and poison queues.

    Args:
        settings: The services' app settings, as
            :func:`dev.services.settings_file.services_settings` builds them.
    """
    provision_cosmos(settings)
    provision_queues(settings)


def provision_cosmos(settings: Mapping[str, str]) -> None:
    """The database ``COSMOS_DATABASE`` and the containers of ``ALL_CONTAINERS``.

    Containers get ``default_ttl=-1``: no expiry by default, but a document's own ``ttl``
    applies (in Azure; the emulator stores ``ttl`` without enforcing it).
    """
    from azure.cosmos import CosmosClient, PartitionKey

    with warnings.catch_warnings():
        # The emulator's certificate is self-signed; only ever used on 127.0.0.1.
        warnings.filterwarnings("ignore", message="Unverified HTTPS request")
        with CosmosClient(
            settings["COSMOS_ENDPOINT"],
            credential=settings["COSMOS_KEY"],
            connection_verify=settings.get("COSMOS_VERIFY_TLS", "true").lower() != "false",
            connection_timeout=REQUEST_TIMEOUT_SECONDS,
        ) as client:
            database = client.create_database_if_not_exists(settings["COSMOS_DATABASE"])
            for spec in ALL_CONTAINERS:
                database.create_container_if_not_exists(
                    id=spec.name,
                    partition_key=PartitionKey(path=spec.partition_key),
                    default_ttl=-1,
                )


def provision_queues(settings: Mapping[str, str]) -> None:
    """The queue ``PROACTIVE_QUEUE_NAME``, the broadcast fan-out queue ``<name>-fanout``, and
    the poison queue of each."""
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.queue import QueueServiceClient

    name = settings["PROACTIVE_QUEUE_NAME"]
    with QueueServiceClient.from_connection_string(
        settings["AzureWebJobsStorage"], connection_timeout=REQUEST_TIMEOUT_SECONDS
    ) as service:
        for queue_name in (name, f"{name}-poison", f"{name}-fanout", f"{name}-fanout-poison"):
            with contextlib.suppress(ResourceExistsError):
                service.create_queue(queue_name)
