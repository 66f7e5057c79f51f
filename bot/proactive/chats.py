"""Starting a 1:1 chat with a user the bot may never have heard from (``POST /v3/conversations``).

Used by a send to a user named by Entra object id with no stored chat
(:mod:`bot.proactive.targets`) and by :meth:`ProactiveService.create_conversation`. The order
is the security property of every send: the serviceUrl is checked against the allow-list before
a token is requested, and the request waits for the rate governor (creating a conversation
counts against the tenant's limit, docs/targets.md). Teams answers with the existing chat when
there is one, so starting twice makes one chat; the new conversation is stored like a captured
one, so the next send finds it with two point reads.

Teams needs the bot's app to be installed for the user; otherwise it answers 403
(``ForbiddenOperationException``) and nothing is retried.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from bot.auth.errors import ServiceUrlNotAllowed, TokenAcquisitionError
from bot.auth.service_url import ServiceUrlPolicy
from bot.connector.client import ConnectorClient
from bot.connector.errors import ConnectorError
from bot.proactive.clouds import TeamsCloud
from bot.proactive.errors import InvalidTargetError, ServiceUrlRefusedError
from bot.proactive.failures import Failure, Verdict, classify
from bot.references import ReferenceStore
from bot.schema import (
    ChannelAccount,
    Channels,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
    ConversationResourceResponse,
)
from bot.throttling.governor import SendKey
from bot.throttling.sender import send_permit
from bot.turn.identity import ClaimsIdentity

TEAMS_BOT_ID_PREFIX = "28:"
"""Teams names bots ``28:<app id>``."""
NOT_INSTALLED_STATUS = 403
"""Teams' answer to a chat with a user who does not have the bot's app installed."""


class ChatStartError(Exception):
    """The Connector refused or failed to start the chat.

    Attributes:
        failure: The classified failure (``RETRY`` ones may be tried again later).
    """

    def __init__(self, failure: Failure) -> None:
        super().__init__(f"{failure.code}: {failure.message}")
        self.failure = failure


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ChatStarter:
    """Starts 1:1 conversations and stores their references.

    Args:
        store: Where the new conversation's reference goes.
        connector: Returns the Connector client.
        service_urls: Returns the serviceUrl allow-list.
        app_id: Returns the bot's app id.
        clock: The current time.
        installer: Installs the bot's Teams app for a user (tenant id, object id) when Teams
            refuses to start a chat because it is not installed; ``None``: not installed, the
            refusal stands.
    """

    def __init__(
        self,
        *,
        store: ReferenceStore,
        connector: Callable[[], ConnectorClient],
        service_urls: Callable[[], ServiceUrlPolicy],
        app_id: Callable[[], str],
        clock: Callable[[], datetime] = _utc_now,
        installer: Callable[[str, str], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self._connector = connector
        self._service_urls = service_urls
        self._app_id = app_id
        self._clock = clock
        self._installer = installer

    async def _create(
        self,
        channel_id: str,
        tenant_id: str | None,
        service_url: str,
        parameters: ConversationParameters,
    ) -> ConversationResourceResponse:
        try:
            # Creating a conversation counts against the tenant's limit.
            async with send_permit(SendKey(channel_id, tenant_id or "")):
                return await self._connector().create_conversation(service_url, parameters)
        except (ConnectorError, ServiceUrlNotAllowed, TokenAcquisitionError) as error:
            raise ChatStartError(classify(error)) from None

    def bot_account(self, channel_id: str) -> ChannelAccount:
        """The bot's account on a channel (Teams: ``28:<app id>``)."""
        app_id = self._app_id()
        teams = channel_id == Channels.MSTEAMS
        return ChannelAccount(id=f"{TEAMS_BOT_ID_PREFIX}{app_id}" if teams else app_id or "bot")

    async def service_url_for(self, channel_id: str, tenant_id: str | None) -> str | None:
        """The serviceUrl of a stored conversation of the tenant, if the bot knows one."""
        if not tenant_id:
            return None
        page = await self._store.list(
            channel_id=channel_id, tenant_id=tenant_id, active=True, page_size=1
        )
        for stored in page.items:
            if stored.reference.service_url:
                return stored.reference.service_url
        return None

    async def start(
        self,
        user: ChannelAccount,
        *,
        tenant_id: str | None,
        channel_id: str = Channels.MSTEAMS,
        service_url: str | None = None,
        cloud: TeamsCloud = TeamsCloud.PUBLIC,
        topic_name: str | None = None,
        channel_data: Any = None,
        remember: bool = True,
    ) -> ConversationReference:
        """Start (or, on Teams, find) the user's 1:1 chat with the bot.

        Args:
            user: The user's account: Teams takes the ``29:`` id or the Entra object id.
            tenant_id: The user's tenant; required for Teams.
            channel_id: The channel.
            service_url: The Connector endpoint; for Teams, the tenant's stored one, else
                ``cloud``'s global endpoint.
            cloud: The Microsoft 365 cloud of the tenant (Teams only).
            topic_name: The conversation's topic.
            channel_data: Channel-specific data; for Teams ``{"tenant": {"id": ...}}`` by
                default.
            remember: Store the new conversation's reference.

        Returns:
            The new conversation's reference (no ``activityId``).

        Raises:
            InvalidTargetError: No user id, no tenant for Teams, or no serviceUrl for another
                channel.
            ServiceUrlRefusedError: The serviceUrl is not allowed (no token is requested).
            ChatStartError: The Connector refused or failed.
        """
        account = user.model_copy(deep=True)
        if not account.id:
            raise InvalidTargetError("the user needs an id")
        teams = channel_id == Channels.MSTEAMS
        if teams and not tenant_id:
            raise InvalidTargetError("Teams needs the user's tenantId to start a conversation")
        if service_url is None:
            if not teams:
                raise InvalidTargetError(f"a serviceUrl is required for channel {channel_id!r}")
            service_url = await self.service_url_for(channel_id, tenant_id) or cloud.service_url
        try:
            self._service_urls().check(service_url)
        except ServiceUrlNotAllowed as error:
            raise ServiceUrlRefusedError(error.message) from None
        bot = self.bot_account(channel_id)
        if channel_data is None and teams:
            channel_data = {"tenant": {"id": tenant_id}}
        parameters = ConversationParameters(
            is_group=False,
            bot=bot,
            members=[account],
            topic_name=topic_name,
            tenant_id=tenant_id,
            channel_data=channel_data,
        )
        try:
            created = await self._create(channel_id, tenant_id, service_url, parameters)
        except ChatStartError as error:
            installable = (
                self._installer is not None
                and teams
                and error.failure.status == NOT_INSTALLED_STATUS
                and account.aad_object_id is not None
            )
            if not installable or self._installer is None or account.aad_object_id is None:
                raise
            # Teams refuses a chat with a user who does not have the bot's app: install it
            # for them (Graph), then ask once more.
            try:
                await self._installer(tenant_id or "", account.aad_object_id)
            except (ConnectorError, TokenAcquisitionError) as install_error:
                raise ChatStartError(classify(install_error)) from None
            created = await self._create(channel_id, tenant_id, service_url, parameters)
        if not created.id:
            raise ChatStartError(
                Failure(Verdict.FAIL, "InvalidResponse", "the Connector named no conversation id")
            )
        answered_url = created.service_url
        if answered_url and self._service_urls().is_allowed(answered_url):
            service_url = answered_url
        reference = ConversationReference(
            channel_id=channel_id,
            service_url=service_url,
            conversation=ConversationAccount(
                id=created.id,
                tenant_id=tenant_id,
                conversation_type="personal" if teams else None,
                is_group=None if teams else False,
            ),
            user=account,
            bot=bot,
        )
        if remember:
            identity = ClaimsIdentity.for_bot(self._app_id())
            await self._store.capture(reference, identity.claims, now=self._clock())
        return reference
