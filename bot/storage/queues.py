"""The process-wide Azure Storage queue client.

Messages are base64-encoded UTF-8 text, as the Functions queue trigger expects. The connection
is ``AzureWebJobsStorage`` (a connection string, with ``UseDevelopmentStorage=true`` meaning
Azurite), or the identity-based ``AzureWebJobsStorage__queueServiceUri`` form.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from bot.process_client import ProcessClient
from bot.settings import get_settings
from bot.storage.proxy_settings import use_env_settings

if TYPE_CHECKING:
    from azure.storage.queue.aio import QueueClient, QueueServiceClient

DEVELOPMENT_STORAGE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
)
"""What ``UseDevelopmentStorage=true`` stands for: Azurite's well-known account and port."""


def expand_connection_string(value: str) -> str:
    """A storage connection string with the ``UseDevelopmentStorage=true`` shorthand expanded."""
    if value.strip().rstrip(";").lower() == "usedevelopmentstorage=true":
        return DEVELOPMENT_STORAGE
    return value


def _create_service() -> QueueServiceClient:
    # Imported here: azure.storage.queue costs ~0.6 s, paid only by invocations that use it.
    from azure.storage.queue.aio import QueueServiceClient

    settings = get_settings()
    if settings.storage_connection:
        return QueueServiceClient.from_connection_string(
            expand_connection_string(settings.storage_connection),
            use_env_settings=use_env_settings(),
        )
    from azure.identity.aio import DefaultAzureCredential

    credential = DefaultAzureCredential(
        managed_identity_client_id=settings.storage_client_id or settings.azure_client_id or None
    )
    return QueueServiceClient(
        settings.storage_queue_service_uri,
        credential=credential,
        use_env_settings=use_env_settings(),
    )


async def _close(service: QueueServiceClient) -> None:
    await service.close()


queue_service: ProcessClient[QueueServiceClient] = ProcessClient(_create_service, _close)


async def send_creating_queue(queue: QueueClient, text: str) -> None:
    """Send a message that never expires, creating the queue first if it does not exist yet.

    The Functions host creates a trigger's queue when it starts polling it; a message put
    before that (a first broadcast or poison message right after deployment) creates it here.
    """
    from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

    try:
        await queue.send_message(text, time_to_live=-1)
    except ResourceNotFoundError:
        with contextlib.suppress(ResourceExistsError):
            await queue.create_queue()
        await queue.send_message(text, time_to_live=-1)


def queue(name: str | None = None) -> QueueClient:
    """A queue client; the proactive queue (``PROACTIVE_QUEUE_NAME``) by default.

    It encodes and decodes message text as base64, like the Functions queue trigger.
    """
    from azure.storage.queue import BinaryBase64DecodePolicy, TextBase64EncodePolicy

    # The service client does not hand its encode policies down to its queue clients.
    return queue_service.get().get_queue_client(
        name or get_settings().proactive_queue_name,
        message_encode_policy=TextBase64EncodePolicy(),
        message_decode_policy=BinaryBase64DecodePolicy(),
    )
