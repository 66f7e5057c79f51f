"""Start the channel's three servers in the running event loop.

``await start_channel(config)`` binds the connector (with the control API), the OpenID
issuer and the HTTPS token endpoint on 127.0.0.1, and returns a :class:`RunningChannel` with
their URLs, the in-process parts (issuer, recorder, faults...) and the settings the bot must
use. ``await channel.aclose()`` (or ``async with``) stops them and removes the temporary files.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from dev.channel.config import (
    BOT_FRAMEWORK_SCOPE,
    LOOPBACK,
    ChannelConfig,
)
from dev.channel.connector import add_connector_routes
from dev.channel.control import PREFIX, add_control_routes
from dev.channel.conversations import ConversationDirectory
from dev.channel.faults import FaultPlan
from dev.channel.feed import ConversationFeed, FeedUserClient
from dev.channel.graph import build_graph_app
from dev.channel.issuer import ChannelIssuer, build_issuer_app
from dev.channel.keys import ChannelKeys
from dev.channel.playground import PLAYGROUND_PATH, add_playground_routes
from dev.channel.proactive_queue import ProactiveQueue
from dev.channel.rate_limit import TeamsRateLimiter
from dev.channel.recorder import ActivityRecorder
from dev.channel.state import STATE_KEY, ChannelState
from dev.channel.tls import create_local_tls
from dev.channel.token_endpoint import TokenAuthority, build_token_app

APP_CERTIFICATE_FILE = "app-certificate.pem"
SHUTDOWN_SECONDS = 1.0


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _origin(sock: socket.socket, scheme: str) -> str:
    return f"{scheme}://{LOOPBACK}:{sock.getsockname()[1]}"


@dataclass
class RunningChannel:
    """A started local channel.

    Attributes:
        state: The shared parts: ``issuer``, ``tokens``, ``recorder``, ``faults``,
            ``limiter``, ``directory``, ``users``.
        work_dir: Where the certificates are.
        app_certificate_path: PEM with the bot's client certificate and key, registered at
            the token endpoint (for certificate credentials).
        feed: What users said and the bot sent, per conversation (the playground's stream).
    """

    state: ChannelState
    work_dir: Path
    app_certificate_path: Path
    feed: ConversationFeed = field(repr=False)
    _runners: list[web.AppRunner] = field(repr=False)
    _session: aiohttp.ClientSession = field(repr=False)
    _owns_work_dir: bool = field(repr=False)
    _closed: bool = field(default=False, repr=False)

    @property
    def config(self) -> ChannelConfig:
        """What the channel was started with."""
        return self.state.config

    @property
    def app_id(self) -> str:
        """The bot's app id."""
        return self.state.config.app_id

    @property
    def connector_url(self) -> str:
        """Origin of the connector and control API."""
        return self.state.connector_url

    @property
    def service_url(self) -> str:
        """The serviceUrl on activities."""
        return self.state.service_url

    @property
    def control_url(self) -> str:
        """Base URL of the control API (for :class:`dev.channel.ChannelControl`)."""
        return self.state.connector_url

    @property
    def playground_url(self) -> str:
        """The playground page."""
        return self.state.connector_url + PLAYGROUND_PATH

    @property
    def openid_metadata_url(self) -> str:
        """``BOT_OPENID_METADATA_URL``."""
        return self.state.issuer.openid_metadata_url

    @property
    def token_authority(self) -> str:
        """``BOT_OAUTH_AUTHORITY``."""
        return self.state.tokens.authority()

    @property
    def ca_bundle_path(self) -> Path:
        """certifi's CAs plus the local CA: ``REQUESTS_CA_BUNDLE`` for the bot."""
        return self.state.tls.ca_bundle_path

    @property
    def ca_cert_path(self) -> Path:
        """The local CA alone."""
        return self.state.tls.ca_cert_path

    def bot_settings(self) -> dict[str, str]:
        """The app settings that make a bot talk to this channel."""
        config = self.state.config
        settings = {
            "BOT_OPENID_METADATA_URL": self.openid_metadata_url,
            "BOT_TOKEN_ISSUER": config.token_issuer,
            "BOT_OAUTH_AUTHORITY": self.token_authority,
            "BOT_OAUTH_SCOPE": BOT_FRAMEWORK_SCOPE,
            "GRAPH_ENDPOINT": self.state.graph_url,
            "BOT_ALLOWED_SERVICE_URLS": self.connector_url,
            "REQUESTS_CA_BUNDLE": str(self.ca_bundle_path),
            "MicrosoftAppId": config.app_id,
            "MicrosoftAppPassword": config.app_password,
        }
        if not config.auth_required:
            settings["BOT_AUTH_DISABLED"] = "true"
        return settings

    def describe(self) -> dict[str, Any]:
        """Every URL and path, and the bot's settings (the runner's state file)."""
        state = self.state
        return {
            "appId": state.config.app_id,
            "channelId": state.config.channel_id,
            "tenantId": state.config.tenant_id,
            "botUrl": state.config.bot_url,
            "botSample": state.config.bot_sample,
            "connectorUrl": state.connector_url,
            "serviceUrl": state.service_url,
            "controlUrl": state.connector_url + PREFIX,
            "playgroundUrl": self.playground_url,
            "queueName": state.config.queue_name,
            "queueConfigured": bool(state.config.queue_connection),
            "issuerUrl": state.issuer.base_url,
            "openIdMetadataUrl": state.issuer.openid_metadata_url,
            "jwksUrl": state.issuer.jwks_url,
            "tokenAuthority": state.tokens.authority(),
            "tokenEndpoint": state.tokens.token_endpoint(),
            "graphUrl": state.graph_url,
            "caCertPath": str(state.tls.ca_cert_path),
            "caBundlePath": str(state.tls.ca_bundle_path),
            "appCertificatePath": str(self.app_certificate_path),
            "workDir": str(self.work_dir),
            "botSettings": self.bot_settings(),
        }

    async def aclose(self) -> None:
        """Stop the servers, close the user client's session, remove temporary files."""
        if self._closed:
            return
        self._closed = True
        try:
            for runner in self._runners:
                await runner.cleanup()
            await self._session.close()
        finally:
            if self._owns_work_dir:
                shutil.rmtree(self.work_dir, ignore_errors=True)

    async def __aenter__(self) -> RunningChannel:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


async def _serve(app: web.Application, sock: socket.socket, **site_options: Any) -> web.AppRunner:
    # No access log: paths carry conversation ids, and nothing here needs a line per request.
    # A short shutdown: a request held by an injected delay must not hold up a test's teardown.
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_SECONDS
    )
    await runner.setup()
    await web.SockSite(runner, sock, **site_options).start()
    return runner


async def start_channel(config: ChannelConfig | None = None) -> RunningChannel:
    """Start the connector, the issuer and the token endpoint on 127.0.0.1.

    Args:
        config: The channel's settings; defaults for everything when None.

    Returns:
        The running channel; call :meth:`RunningChannel.aclose` to stop it.

    Raises:
        OSError: A configured port is taken.
    """
    config = config or ChannelConfig()
    keys = config.keys or ChannelKeys.generate()
    owns_work_dir = config.work_dir is None
    work_dir = (
        Path(tempfile.mkdtemp(prefix="local-channel-"))
        if config.work_dir is None
        else config.work_dir
    )
    work_dir.mkdir(parents=True, exist_ok=True)
    sockets: list[socket.socket] = []
    runners: list[web.AppRunner] = []
    session: aiohttp.ClientSession | None = None
    try:
        for port in (
            config.connector_port,
            config.issuer_port,
            config.token_port,
            config.graph_port,
        ):
            sockets.append(_bind(port))
        connector_sock, issuer_sock, token_sock, graph_sock = sockets
        connector_url = _origin(connector_sock, "http")

        tls = create_local_tls(work_dir, keys.tls_ca, keys.tls_server)
        app_certificate_path = work_dir / APP_CERTIFICATE_FILE
        app_certificate_path.write_bytes(
            keys.app_certificate.private_pem() + keys.app_certificate.certificate_pem()
        )
        app_certificate_path.chmod(0o600)

        issuer = ChannelIssuer(
            keys.issuer.with_endorsements(config.endorsements),
            keys.issuer_restricted,
            keys.foreign,
            issuer=config.token_issuer,
        )
        issuer.base_url = _origin(issuer_sock, "http")
        tokens = TokenAuthority(
            app_id=config.app_id,
            app_password=config.app_password,
            signing_key=keys.token_endpoint,
            client_certificates=[keys.app_certificate],
        )
        tokens.base_url = _origin(token_sock, "https")

        service_url = connector_url + config.service_path
        directory = ConversationDirectory()
        session = aiohttp.ClientSession()
        app_id = config.app_id

        async def channel_token(url: str) -> str:
            return issuer.mint(url, app_id)

        feed = ConversationFeed()
        users = FeedUserClient(
            session,
            feed=feed,
            bot_url=config.bot_url,
            service_url=service_url,
            app_id=app_id,
            tokens=channel_token if config.auth_required else None,
            channel_id=config.channel_id,
            tenant_id=config.tenant_id,
            directory=directory,
        )
        recorder = ActivityRecorder()
        recorder.add_listener(feed.on_record)
        state = ChannelState(
            config=config,
            issuer=issuer,
            tokens=tokens,
            tls=tls,
            recorder=recorder,
            faults=FaultPlan(),
            limiter=TeamsRateLimiter(enabled=config.rate_limits),
            directory=directory,
            users=users,
            connector_url=connector_url,
            service_url=service_url,
        )

        connector_app = web.Application()
        connector_app[STATE_KEY] = state
        add_control_routes(connector_app)
        add_connector_routes(connector_app, config.service_path)
        add_playground_routes(
            connector_app,
            feed=feed,
            queue=ProactiveQueue(config.queue_connection, config.queue_name),
            session=session,
            bot_url=config.bot_url,
        )

        runners.append(await _serve(connector_app, connector_sock))
        runners.append(await _serve(build_issuer_app(issuer), issuer_sock))
        runners.append(
            await _serve(build_token_app(tokens), token_sock, ssl_context=tls.server_context())
        )
        state.graph_url = _origin(graph_sock, "https")
        runners.append(
            await _serve(build_graph_app(state), graph_sock, ssl_context=tls.server_context())
        )
    except BaseException:
        for runner in runners:
            await runner.cleanup()
        for sock in sockets:
            sock.close()
        if session is not None:
            await session.close()
        if owns_work_dir:
            shutil.rmtree(work_dir, ignore_errors=True)
        raise
    return RunningChannel(
        state=state,
        work_dir=work_dir,
        app_certificate_path=app_certificate_path,
        feed=feed,
        _runners=runners,
        _session=session,
        _owns_work_dir=owns_work_dir,
    )
