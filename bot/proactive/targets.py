"""From what a caller names (a conversation id, a user, a Teams channel, a reference) to a
reference to send to.

A user named by Entra object id is found through the index by object id; with no stored 1:1
chat one is started (:mod:`bot.proactive.chats`) unless the caller only checks the target. A
``teamsChannel`` is addressed as the channel (a new thread) or as one of its threads
(``replyToId``): its team and the channel must not be retired (a deleted channel, a removed bot),
and its serviceUrl is the stored channel's, the team's, the tenant's, or the cloud's default.

Resolution is where sends are refused before anything leaves the bot: unknown or ambiguous
conversations, retired ones, and serviceUrls outside the allow-list (checked here too, before a
delivery is even attempted, so a poisoned stored reference never reaches the token source).

An explicit reference is trusted no more than its serviceUrl: it must be on the allow-list,
and when the bot has stored that conversation from the channel's authenticated activities, the
stored serviceUrl wins over a differing one (docs/security-model.md, T1) and a retired
conversation stays retired.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.auth.errors import ServiceUrlNotAllowed, TokenAcquisitionError
from bot.auth.service_url import ServiceUrlPolicy
from bot.connector.errors import ConnectorError
from bot.proactive.chats import ChatStarter, ChatStartError
from bot.proactive.clouds import TeamsCloud
from bot.proactive.errors import (
    AmbiguousConversationError,
    ConversationInactiveError,
    InvalidTargetError,
    ServiceUrlMismatchError,
    ServiceUrlRefusedError,
    UnknownConversationError,
)
from bot.proactive.failures import classify
from bot.proactive.message import (
    TEAMS_CHANNEL_ID,
    ConversationTarget,
    Target,
    TeamsChannelTarget,
    UserTarget,
)
from bot.references import AmbiguousReferenceError, ReferenceKey, ReferenceStore, StoredReference
from bot.references.teams import THREAD_MARKER, channel_root
from bot.schema import ChannelAccount, ConversationAccount, ConversationReference


class UserDirectory(Protocol):
    """Finds users by user principal name (Microsoft Graph, :mod:`bot.graph`)."""

    async def object_id(self, tenant_id: str, user_principal_name: str) -> str:
        """The user's Entra object id (lower case).

        Raises:
            UserNotFoundError: No user of the tenant has this name.
        """
        ...


@dataclass(frozen=True)
class ResolvedTarget:
    """A conversation the bot may send to now.

    Attributes:
        reference: Where to send: no ``activityId`` (a proactive message replies to nothing).
        key: The conversation's key in the reference store.
        stored: The stored reference, when the conversation is stored.
        created: The conversation was started to resolve the target (a new 1:1 chat).
    """

    reference: ConversationReference
    key: ReferenceKey
    stored: StoredReference | None = None
    created: bool = False

    @property
    def channel_id(self) -> str:
        """The conversation's channel."""
        return self.key.channel_id

    @property
    def conversation_id(self) -> str:
        """The channel's id of the conversation."""
        return self.key.conversation_id


class TargetResolver:
    """Finds the reference a target names and checks that it may be sent to.

    Args:
        store: The conversation reference store.
        service_urls: Returns the serviceUrl allow-list (the process-wide one by default).
        chats: Starts 1:1 chats for users named by Entra object id; without it such a user
            needs a stored chat.
        users: Finds a user's Entra object id by user principal name (Microsoft Graph).
    """

    def __init__(
        self,
        store: ReferenceStore,
        service_urls: Callable[[], ServiceUrlPolicy],
        *,
        chats: ChatStarter | None = None,
        users: UserDirectory | None = None,
    ) -> None:
        self._store = store
        self._service_urls = service_urls
        self._chats = chats
        self._users = users

    async def resolve(self, target: Target) -> ResolvedTarget:
        """The conversation to send to; a user named by object id without a stored chat gets
        one started.

        Raises:
            ChatStartError: Starting the user's chat failed (see its ``failure``).
            UserNotFoundError: No user has the userPrincipalName.
            InvalidTargetError: An explicit reference lacks what addressing needs.
            UnknownConversationError: Nothing stored matches.
            AmbiguousConversationError: A conversation id matches several channels or tenants.
            ConversationInactiveError: The conversation is retired.
            ServiceUrlRefusedError: Its serviceUrl is not on the allow-list.
            ServiceUrlMismatchError: An explicit reference's serviceUrl differs from the
                stored one.
        """
        resolved = await self._resolve(target, create=True)
        assert resolved is not None  # create=True resolves or raises
        return resolved

    async def check(self, target: Target) -> ResolvedTarget | None:
        """Check a target without starting anything: ``None`` for a user named by object id
        (or name) whose chat is not stored yet, which a send will start.

        Raises:
            ProactiveError: As :meth:`resolve` (no ``ChatStartError``).
        """
        return await self._resolve(target, create=False)

    async def _resolve(self, target: Target, *, create: bool) -> ResolvedTarget | None:
        if isinstance(target, ConversationTarget):
            try:
                return self._usable(await self._find_conversation(target))
            except UnknownConversationError:
                if THREAD_MARKER not in target.conversation_id:
                    raise
            # A channel thread is stored as its channel (bot.references.teams): reply in the
            # thread, under the thread's own key (a gone thread retires nothing).
            root = channel_root(target.conversation_id)
            stored = await self._find_conversation(
                target.model_copy(update={"conversation_id": root})
            )
            resolved = self._usable(stored)
            resolved.reference.conversation = (
                resolved.reference.conversation or ConversationAccount()
            )
            resolved.reference.conversation.id = target.conversation_id
            key = ReferenceKey(stored.channel_id, target.conversation_id, stored.tenant_id)
            return ResolvedTarget(resolved.reference, key, stored)
        if isinstance(target, UserTarget):
            if target.user_id is not None:
                personal = await self._store.get_for_user(target.channel_id, target.user_id)
                if personal is None:
                    raise UnknownConversationError(
                        "no personal conversation with this user is stored for the channel"
                    )
                return self._usable(personal)
            return await self._aad_user(target, create)
        if isinstance(target, TeamsChannelTarget):
            return await self._teams_channel(target)
        return await self._explicit(target)

    async def _aad_user(self, target: UserTarget, create: bool) -> ResolvedTarget | None:
        tenant_id = target.tenant_id or ""
        aad_object_id = target.aad_object_id
        if aad_object_id is None and not create:
            # Checked without a lookup: the name is resolved (and refused if unknown) when a
            # send is made.
            return None
        if aad_object_id is None:
            if self._users is None:
                raise InvalidTargetError(
                    "user.userPrincipalName: no user directory is configured; name the aadObjectId"
                )
            try:
                aad_object_id = await self._users.object_id(
                    tenant_id, target.user_principal_name or ""
                )
            except (ConnectorError, TokenAcquisitionError) as error:
                # Graph refused or failed: retried when transient, like a Connector answer.
                raise ChatStartError(classify(error)) from None
        stored = await self._store.get_for_aad_user(target.channel_id, tenant_id, aad_object_id)
        if stored is not None:
            return self._usable(stored)
        if not create:
            return None
        if self._chats is None:
            raise UnknownConversationError(
                "no personal conversation with this user is stored for the channel"
            )
        account = ChannelAccount(id=aad_object_id, aad_object_id=aad_object_id)
        reference = await self._chats.start(
            account, tenant_id=tenant_id, channel_id=target.channel_id
        )
        resolved = self._usable_reference(reference, ReferenceKey.of(reference))
        return ResolvedTarget(resolved.reference, resolved.key, None, created=True)

    async def _teams_channel(self, target: TeamsChannelTarget) -> ResolvedTarget:
        channel_key = ReferenceKey(TEAMS_CHANNEL_ID, target.channel_id, target.tenant_id)
        team_key = ReferenceKey(TEAMS_CHANNEL_ID, target.team_id, target.tenant_id)
        channel = await self._store.get_by_key(channel_key)
        team = channel if channel_key == team_key else await self._store.get_by_key(team_key)
        for stored in (channel, team):
            if stored is not None and not stored.active:
                raise ConversationInactiveError(stored.reason)
        if channel is not None and channel.team_id not in (None, target.team_id):
            raise InvalidTargetError("teamsChannel.channelId: the channel is not in this team")
        known = channel or team
        service_url = known.reference.service_url if known is not None else None
        if not service_url and self._chats is not None:
            service_url = await self._chats.service_url_for(TEAMS_CHANNEL_ID, target.tenant_id)
        service_url = service_url or TeamsCloud.PUBLIC.service_url
        bot = known.reference.bot if known is not None else None
        if bot is None and self._chats is not None:
            bot = self._chats.bot_account(TEAMS_CHANNEL_ID)
        reference = ConversationReference(
            channel_id=TEAMS_CHANNEL_ID,
            service_url=service_url,
            conversation=ConversationAccount(
                id=target.conversation_id,
                tenant_id=target.tenant_id,
                conversation_type="channel",
                is_group=True,
            ),
            bot=bot,
        )
        # The key is the thread's own (a gone thread retires nothing); a new thread's is the
        # channel's.
        key = ReferenceKey(TEAMS_CHANNEL_ID, target.conversation_id, target.tenant_id)
        return ResolvedTarget(self._usable_reference(reference, key).reference, key, channel)

    async def _find_conversation(self, target: ConversationTarget) -> StoredReference:
        if target.channel_id:
            try:
                stored = await self._store.get(
                    target.channel_id, target.conversation_id, target.tenant_id
                )
            except AmbiguousReferenceError as error:
                raise AmbiguousConversationError(
                    [match.channel_id for match in error.matches]
                ) from None
            if stored is None:
                raise UnknownConversationError("no stored conversation has this id")
            return stored
        matches = await self._store.find_by_conversation_id(target.conversation_id)
        if target.tenant_id:
            matches = [match for match in matches if match.tenant_id == target.tenant_id]
        if len(matches) > 1:
            raise AmbiguousConversationError([match.channel_id for match in matches])
        if not matches:
            raise UnknownConversationError("no stored conversation has this id")
        return matches[0]

    async def _explicit(self, reference: ConversationReference) -> ResolvedTarget:
        address = reference.model_copy(deep=True)
        address.activity_id = None
        conversation = address.conversation
        if not address.channel_id or conversation is None or not conversation.id:
            raise InvalidTargetError("conversationReference needs channelId and conversation.id")
        if not address.service_url:
            raise InvalidTargetError("conversationReference needs serviceUrl")
        base = self._allowed(address.service_url)
        key = ReferenceKey.of(address)
        stored = await self._store.get_by_key(key)
        if stored is not None:
            if not stored.active:
                raise ConversationInactiveError(stored.reason)
            if self._allowed(stored.reference.service_url or "") != base:
                raise ServiceUrlMismatchError()
        return ResolvedTarget(address, key, stored)

    def _usable(self, stored: StoredReference) -> ResolvedTarget:
        if not stored.active:
            raise ConversationInactiveError(stored.reason)
        resolved = self._usable_reference(stored.reference, stored.key)
        return ResolvedTarget(resolved.reference, stored.key, stored)

    def _usable_reference(
        self, reference: ConversationReference, key: ReferenceKey
    ) -> ResolvedTarget:
        reference = reference.model_copy(deep=True)
        reference.activity_id = None
        # A reference stored before the allow-list changed (or written by someone else) must
        # not get the token either.
        self._allowed(reference.service_url or "")
        return ResolvedTarget(reference, key)

    def _allowed(self, service_url: str) -> str:
        try:
            return self._service_urls().check(service_url)
        except ServiceUrlNotAllowed as error:
            raise ServiceUrlRefusedError(error.message) from None
