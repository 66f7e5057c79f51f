"""The process-wide Cosmos DB client.

Locally it connects with the emulator's key; in Azure ``COSMOS_KEY`` is empty and the managed
identity is used (``AZURE_CLIENT_ID`` selects the user-assigned one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.process_client import ProcessClient
from bot.settings import get_settings
from bot.storage.proxy_settings import use_env_settings

if TYPE_CHECKING:
    from azure.cosmos.aio import ContainerProxy, CosmosClient, DatabaseProxy


def _create_client() -> CosmosClient:
    # Imported here: azure.cosmos costs ~0.3 s, paid only by invocations that use it.
    from azure.cosmos.aio import CosmosClient

    settings = get_settings()
    credential: Any
    if settings.cosmos_key is not None:
        credential = settings.cosmos_key.get_secret_value()
    else:
        from azure.identity.aio import DefaultAzureCredential

        credential = DefaultAzureCredential(
            managed_identity_client_id=settings.azure_client_id or None
        )
    options: dict[str, Any] = {}
    if not use_env_settings():
        # The Cosmos client does not pass use_env_settings on to the transport it makes.
        from azure.core.pipeline.transport import AioHttpTransport

        options["transport"] = AioHttpTransport(use_env_settings=False)
    return CosmosClient(
        settings.cosmos_endpoint,
        credential=credential,
        connection_verify=settings.cosmos_verify_tls,
        **options,
    )


async def _close(client: CosmosClient) -> None:
    await client.close()


cosmos_client: ProcessClient[CosmosClient] = ProcessClient(_create_client, _close)


def database() -> DatabaseProxy:
    """The bot's database (``COSMOS_DATABASE``)."""
    return cosmos_client.get().get_database_client(get_settings().cosmos_database)


def container(name: str) -> ContainerProxy:
    """A container of the bot's database, by name (see :mod:`bot.storage.containers`)."""
    return database().get_container_client(name)
