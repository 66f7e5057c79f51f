"""How a tool outside the app reaches a queue: a connection string, or Entra ID.

The deployed storage account refuses shared keys (``allowSharedKeyAccess: false``), so a
service that enqueues proactive messages, or an operator who redrives the poison queue, signs
in with Entra ID: the queue service URL (``https://<account>.queue.core.windows.net``) and
``DefaultAzureCredential`` (a managed identity in Azure, ``az login`` on a workstation; set
``AZURE_CLIENT_ID`` for a user-assigned identity). The identity needs Storage Queue Data
Message Sender on the proactive queue to enqueue (the Bicep's ``queueSenderPrincipalIds``),
or Storage Queue Data Contributor to redrive (docs/deployment.md). A connection string is for
Azurite and accounts that still allow keys.

Either way the clients encode message text as base64, as the Functions queue trigger expects.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential
    from azure.storage.queue.aio import QueueClient


@dataclass(frozen=True)
class QueueAccess:
    """Where the queues are and how to sign in: exactly one of the two.

    Attributes:
        connection_string: A storage connection string (``UseDevelopmentStorage=true``:
            Azurite).
        account_url: The queue service URL, for Entra ID.
        client_options: Extra options of the Azure SDK clients (tests pass
            ``connection_verify`` for a local certificate authority).
    """

    connection_string: str = ""
    account_url: str = ""
    client_options: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if bool(self.connection_string) == bool(self.account_url):
            raise ValueError("give either a connection string or a queue service URL")

    @property
    def uses_entra_id(self) -> bool:
        """Whether requests carry an Entra ID token rather than a shared key."""
        return bool(self.account_url)

    @contextlib.asynccontextmanager
    async def queues(
        self, credential: AsyncTokenCredential | None = None
    ) -> AsyncIterator[QueueOpener]:
        """Open the queues for one command; everything is closed after it.

        Args:
            credential: The token credential for :attr:`account_url`; by default a
                ``DefaultAzureCredential``, created here and closed after.
        """
        owned: AsyncTokenCredential | None = None
        if self.uses_entra_id and credential is None:
            from azure.identity.aio import DefaultAzureCredential

            credential = owned = DefaultAzureCredential()
        opener = QueueOpener(self, credential)
        try:
            yield opener
        finally:
            await opener.close()
            if owned is not None:
                await owned.close()


class QueueOpener:
    """Base64 queue clients by name, for one :meth:`QueueAccess.queues` block."""

    def __init__(self, access: QueueAccess, credential: AsyncTokenCredential | None) -> None:
        self._access = access
        self._credential = credential
        self._clients: dict[str, QueueClient] = {}

    def queue(self, name: str) -> QueueClient:
        """The client of queue ``name`` (one per name; closed with the block)."""
        client = self._clients.get(name)
        if client is None:
            client = self._clients[name] = self._create(name)
        return client

    def _create(self, name: str) -> QueueClient:
        from azure.storage.queue import BinaryBase64DecodePolicy, TextBase64EncodePolicy
        from azure.storage.queue.aio import QueueClient

        from bot.storage.queues import expand_connection_string

        options: dict[str, Any] = {
            "message_encode_policy": TextBase64EncodePolicy(),
            "message_decode_policy": BinaryBase64DecodePolicy(),
            **dict(self._access.client_options),
        }
        if self._access.uses_entra_id:
            return QueueClient(
                self._access.account_url, name, credential=self._credential, **options
            )
        return QueueClient.from_connection_string(
            expand_connection_string(self._access.connection_string), name, **options
        )

    async def close(self) -> None:
        """Close every client opened."""
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
