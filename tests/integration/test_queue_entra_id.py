"""Enqueue with an Entra ID token, against an Azurite that takes OAuth and nothing else.

The deployed storage account refuses shared keys, so a service enqueues with a token
(:class:`~bot.proactive.queue_access.QueueAccess` with a queue service URL). Azurite checks
bearer tokens with ``--oauth basic``, which it serves only over HTTPS: this module starts its
own Azurite queue service with a certificate from a local CA (as the local channel's token
endpoint has) and a token credential that hands out a token Azurite's basic check accepts
(Entra's issuer and the storage audience; the signature is not checked in that mode). A token
for another audience is refused, so the token is really what lets the message in.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.storage.queue.aio import QueueClient
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.proactive.enqueue import enqueue
from bot.proactive.queue_access import QueueAccess
from dev.channel.tls import LocalTls, create_local_tls
from dev.services import processes
from dev.services.stack import NODE_MODULES
from dev.stack import free_port

pytestmark = pytest.mark.services

STORAGE_SCOPE = "https://storage.azure.com/.default"
START_DEADLINE_SECONDS = 30.0


class TokenCredential:
    """An async token credential with a fixed audience; records the scopes asked for."""

    def __init__(self, audience: str) -> None:
        self.audience = audience
        self.scopes: list[str] = []

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        del kwargs
        self.scopes.extend(scopes)
        now = int(time.time())
        claims = {
            "aud": self.audience,
            "iss": "https://sts.windows.net/00000000-0000-0000-0000-0000000000aa/",
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + 3600,
            "oid": "00000000-0000-0000-0000-0000000000bb",
        }
        return AccessToken(jwt.encode(claims, "unchecked-" * 4, algorithm="HS256"), now + 3600)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> TokenCredential:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None


@pytest.fixture(scope="module")
def oauth_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, LocalTls]]:
    """An Azurite queue service on HTTPS with ``--oauth basic``: its account URL and TLS files."""
    directory = tmp_path_factory.mktemp("oauth-azurite")
    tls = create_local_tls(
        directory,
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )
    port = free_port()
    manifest = json.loads((NODE_MODULES / "azurite" / "package.json").read_text())
    script = NODE_MODULES / "azurite" / manifest["bin"]["azurite-queue"]
    arguments = [
        *("--queueHost", "127.0.0.1", "--queuePort", str(port)),
        *(
            "--oauth",
            "basic",
            "--cert",
            str(tls.server_cert_path),
            "--key",
            str(tls.server_key_path),
        ),
        "--inMemoryPersistence",
        "--silent",
        "--skipApiVersionCheck",
        "--disableTelemetry",
    ]
    log = (directory / "azurite.log").open("wb")
    process = subprocess.Popen(
        processes.node_command(Path(script), arguments), stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while not _listening(port):
            assert process.poll() is None, (directory / "azurite.log").read_text()
            assert time.monotonic() < deadline, "Azurite did not start in time"
            time.sleep(0.05)
        yield f"https://127.0.0.1:{port}/devstoreaccount1", tls
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _access(azurite: tuple[str, LocalTls]) -> QueueAccess:
    account_url, tls = azurite
    return QueueAccess(
        account_url=account_url,
        client_options=(("connection_verify", str(tls.ca_cert_path)),),
    )


async def test_a_message_enqueued_with_a_token_arrives_base64_encoded(
    oauth_azurite: tuple[str, LocalTls],
) -> None:
    credential = TokenCredential("https://storage.azure.com")
    name = f"entra-{uuid.uuid4().hex[:12]}"
    message = {
        "version": 1,
        "id": f"entra-{uuid.uuid4().hex[:8]}",
        "user": {"channelId": "msteams", "userId": "29:1abc"},
        "activities": [{"type": "message", "text": "sent with a managed identity"}],
    }
    account_url, tls = oauth_azurite

    async with _access(oauth_azurite).queues(credential) as queues:
        queue = queues.queue(name)
        await queue.create_queue()
        sent = await enqueue(message, queue=queue)
        # A plain client (no decode policy) sees what the Functions trigger gets: base64 text.
        async with QueueClient(
            account_url, name, credential=credential, connection_verify=str(tls.ca_cert_path)
        ) as plain:
            [stored] = await plain.peek_messages()
        await queue.delete_queue()

    assert sent.id == message["id"]
    assert json.loads(base64.b64decode(stored.content)) == message
    assert set(credential.scopes) == {STORAGE_SCOPE}


async def test_a_token_for_another_audience_is_refused(
    oauth_azurite: tuple[str, LocalTls],
) -> None:
    credential = TokenCredential("https://vault.azure.net")

    async with _access(oauth_azurite).queues(credential) as queues:
        with pytest.raises(HttpResponseError) as refused:
            await queues.queue(f"entra-{uuid.uuid4().hex[:12]}").create_queue()

    assert refused.value.status_code in (401, 403)
