"""The parts of one running channel, shared by its HTTP handlers."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from dev.channel.config import ChannelConfig
from dev.channel.conversations import ConversationDirectory
from dev.channel.faults import FaultPlan
from dev.channel.issuer import ChannelIssuer
from dev.channel.rate_limit import TeamsRateLimiter
from dev.channel.recorder import ActivityRecorder
from dev.channel.tls import LocalTls
from dev.channel.token_endpoint import TokenAuthority
from dev.channel.user_client import UserClient


@dataclass
class ChannelState:
    """Everything one channel's servers share.

    Attributes:
        config: What the channel was started with.
        issuer: Signs channel tokens.
        tokens: The token endpoint's issuer and verifier of bot tokens.
        tls: The local CA and the token endpoint's certificate.
        recorder: What the connector received.
        faults: Injected failures.
        limiter: Teams rate limits (disabled unless turned on).
        directory: Known conversations.
        users: Plays users against the bot (``/_channel/say``).
        connector_url: Origin of the connector, ``http://127.0.0.1:PORT``.
        service_url: The serviceUrl put on activities (connector URL + service path).
        activity_ids: Ids of the activities delivered per conversation (for update, delete).
    """

    config: ChannelConfig
    issuer: ChannelIssuer
    tokens: TokenAuthority
    tls: LocalTls
    recorder: ActivityRecorder
    faults: FaultPlan
    limiter: TeamsRateLimiter
    directory: ConversationDirectory
    users: UserClient
    connector_url: str
    service_url: str
    activity_ids: dict[str, set[str]] = field(default_factory=dict)
    personal_installs: set[str] = field(default_factory=set)
    """Object ids of the users the bot's app was installed for (Graph ``installedApps``)."""
    graph_url: str = ""
    """Origin of the local Microsoft Graph (HTTPS)."""

    @property
    def redirect_sink_url(self) -> str:
        """Where injected redirects point: records whether a token followed the redirect."""
        return self.connector_url + "/_channel/redirect-sink"


STATE_KEY: web.AppKey[ChannelState] = web.AppKey("channel_state", ChannelState)
