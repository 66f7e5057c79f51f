"""What a local channel is started with.

Everything has a working default so ``ChannelConfig()`` is a complete channel: a fresh app id
and password per start (nothing secret is committed), free ports, auth on, rate limits off.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dev.channel.keys import ChannelKeys

LOOPBACK = "127.0.0.1"
"""The only address the channel listens on or talks to."""

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
"""``iss`` of channel tokens, as the real Bot Connector signs them."""

BOT_FRAMEWORK_AUDIENCE = "https://api.botframework.com"
"""``aud`` of the bot's outbound tokens (what the Connector accepts)."""

BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"
"""The scope the token endpoint grants for the Bot Connector, as Entra does."""

GRAPH_AUDIENCE = "https://graph.microsoft.com"
"""``aud`` of the Graph tokens the token endpoint issues."""
GRAPH_SCOPE = GRAPH_AUDIENCE + "/.default"
"""The token endpoint's other scope: Microsoft Graph (:mod:`dev.channel.graph`)."""

BOT_FRAMEWORK_TENANT = "botframework.com"
"""Multi-tenant bots ask ``login.microsoftonline.com/botframework.com`` for tokens."""

DEFAULT_ENDORSEMENTS: tuple[str, ...] = (
    "msteams",
    "webchat",
    "directline",
    "slack",
    "emulator",
    "test",
)
"""Channels the issuer's main signing key is endorsed for."""

DEFAULT_TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
"""Tenant id put on conversations and activities (any GUID would do)."""

DEFAULT_BOT_URL = "http://127.0.0.1:7071/api/messages"

DEFAULT_QUEUE_NAME = "proactive-sends"
"""The bot's proactive queue when ``PROACTIVE_QUEUE_NAME`` is not set."""

QUEUE_CONNECTION_VARIABLE = "AzureWebJobsStorage"
QUEUE_NAME_VARIABLE = "PROACTIVE_QUEUE_NAME"

PORT_VARIABLES = {
    "connector_port": "LOCAL_CHANNEL_PORT",
    "issuer_port": "LOCAL_ISSUER_PORT",
    "token_port": "LOCAL_TOKEN_PORT",
    "graph_port": "LOCAL_GRAPH_PORT",
}
"""Environment variables that pin a server to a port; unset or 0 means a free port."""


def _new_app_id() -> str:
    return str(uuid.uuid4())


def _new_app_password() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class ChannelConfig:
    """Settings of one local channel.

    Attributes:
        app_id: The bot's app id: audience of channel tokens, client id at the token endpoint.
        app_password: The client secret the token endpoint accepts for ``app_id``.
        bot_url: Where the channel posts user activities (the bot's ``/api/messages``).
        channel_id: ``channelId`` of the activities the channel sends.
        tenant_id: Tenant of the conversations the channel creates.
        token_issuer: ``iss`` of channel tokens.
        endorsements: Channels the issuer's main key is endorsed for.
        auth_required: The connector demands a valid bot token; off only to mirror a bot
            running with ``BOT_AUTH_DISABLED=true`` (then user activities carry no token).
        rate_limits: Enforce the Teams rate limits from the start.
        accept_unknown_conversations: Accept sends to conversations the channel never saw
            (the real service answers 404 ``ConversationNotFound``).
        connector_port: Port of the Bot Connector and control API, 0 for a free one.
        issuer_port: Port of the OpenID issuer, 0 for a free one.
        token_port: Port of the HTTPS token endpoint, 0 for a free one.
        graph_port: Port of the HTTPS Microsoft Graph, 0 for a free one.
        service_path: Path of the serviceUrl, ``/`` or a prefix like ``/teams/`` as Teams uses.
        work_dir: Where certificates are written; a temporary directory (removed at stop)
            when not given.
        keys: Pre-generated key material, so test modules need not generate RSA keys per test.
        queue_connection: The bot's storage connection string (``AzureWebJobsStorage``), with
            which the playground puts messages on the proactive queue; None turns that off.
        queue_name: The bot's proactive queue (``PROACTIVE_QUEUE_NAME``).
        bot_sample: Which sample the bot runs (``BOT_SAMPLE``, as the stack that started the
            bot resolved it), for the playground to show; None when not known.
    """

    app_id: str = field(default_factory=_new_app_id)
    app_password: str = field(default_factory=_new_app_password, repr=False)
    bot_url: str = DEFAULT_BOT_URL
    channel_id: str = "msteams"
    tenant_id: str = DEFAULT_TENANT_ID
    token_issuer: str = BOT_FRAMEWORK_ISSUER
    endorsements: tuple[str, ...] = DEFAULT_ENDORSEMENTS
    auth_required: bool = True
    rate_limits: bool = False
    accept_unknown_conversations: bool = True
    connector_port: int = 0
    issuer_port: int = 0
    token_port: int = 0
    graph_port: int = 0
    service_path: str = "/"
    work_dir: Path | None = None
    keys: ChannelKeys | None = field(default=None, repr=False)
    queue_connection: str | None = field(default=None, repr=False)
    queue_name: str = DEFAULT_QUEUE_NAME
    bot_sample: str | None = None

    def __post_init__(self) -> None:
        if not self.service_path.startswith("/") or not self.service_path.endswith("/"):
            raise ValueError("service_path must start and end with '/', for example /teams/")
        for name in PORT_VARIABLES:
            port = getattr(self, name)
            if not 0 <= port <= 65535:
                raise ValueError(f"{name} must be a port number, got {port}")


def ports_from_environment(environ: Mapping[str, str] | None = None) -> dict[str, int]:
    """The ports pinned by ``LOCAL_CHANNEL_PORT``, ``LOCAL_ISSUER_PORT``, ``LOCAL_TOKEN_PORT``.

    Raises:
        ValueError: A variable is set to something that is not a port number.
    """
    source = os.environ if environ is None else environ
    ports: dict[str, int] = {}
    for name, variable in PORT_VARIABLES.items():
        raw = source.get(variable, "").strip()
        if not raw:
            continue
        try:
            ports[name] = int(raw)
        except ValueError:
            raise ValueError(f"{variable} must be a port number, got {raw!r}") from None
    return ports


def queue_from_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``queue_connection`` and ``queue_name`` from ``AzureWebJobsStorage`` and
    ``PROACTIVE_QUEUE_NAME``, for those that are set.

    The connection string holds an account key, so it comes from the environment, never from
    the command line (where ``ps`` would show it).
    """
    source = os.environ if environ is None else environ
    found: dict[str, str] = {}
    connection = source.get(QUEUE_CONNECTION_VARIABLE, "").strip()
    if connection:
        found["queue_connection"] = connection
    name = source.get(QUEUE_NAME_VARIABLE, "").strip()
    if name:
        found["queue_name"] = name
    return found
