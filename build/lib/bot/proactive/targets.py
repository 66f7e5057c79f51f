"""From what a caller names (a conversation id, a user, a reference) to a reference to send to.

Resolution is where sends are refused before anything leaves the bot: unknown or ambiguous
conversations, retired ones, and serviceUrls outside the allow-list (checked here too, before a
delivery is even attempted, so a poisoned stored reference never reaches the token source).

An explicit reference is trusted no more than its serviceUrl: it must be on the allow-list,
and when the bot has stored that conversation from the channel's authenticated activities, the
stored serviceUrl wins over a differing one (security.md T1) and a retired conversation stays
retired.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.auth.errors import ServiceUrlNotAllowed
from bot.auth.service_url import ServiceUrlPolicy
from bot.proactive.errors import (
    AmbiguousConversationError,
    ConversationInactiveError,
    InvalidTargetError,
    ServiceUrlMismatchError,
    ServiceUrlRefusedError,
    UnknownConversationError,
)
from bot.proactive.message import ConversationTarget, Target, UserTarget
from bot.references import AmbiguousReferenceError, ReferenceKey, ReferenceStore, StoredReference
from bot.schema import ConversationReference


@dataclass(frozen=True)
class ResolvedTarget:
    """A conversation the bot may send to now.

    Attributes:
        reference: Where to send: no ``activityId`` (a proactive message replies to nothing).
        key: The conversation's key in the reference store.
        stored: The stored reference, when the conversation is stored.
    """

    reference: ConversationReference
    key: ReferenceKey
    stored: StoredReference | None = None

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
    """

    def __init__(self, store: ReferenceStore, service_urls: Callable[[], ServiceUrlPolicy]) -> None:
        self._store = store
        self._service_urls = service_urls

    async def resolve(self, target: Target) -> ResolvedTarget:
        """The conversation to send to.

        Raises:
            InvalidTargetError: An explicit reference lacks what addressing needs.
            UnknownConversationError: Nothing stored matches.
            AmbiguousConversationError: A conversation id matches several channels or tenants.
            ConversationInactiveError: The conversation is retired.
            ServiceUrlRefusedError: Its serviceUrl is not on the allow-list.
            ServiceUrlMismatchError: An explicit reference's serviceUrl differs from the
                stored one.
        """
        if isinstance(target, ConversationTarget):
            return self._usable(await self._find_conversation(target))
        if isinstance(target, UserTarget):
            stored = await self._store.get_for_user(target.channel_id, target.user_id)
            if stored is None:
                raise UnknownConversationError(
                    "no personal conversation with this user is stored for the channel"
                )
            return self._usable(stored)
        return await self._explicit(target)

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
        reference = stored.reference.model_copy(deep=True)
        reference.activity_id = None
        # A reference stored before the allow-list changed (or written by someone else) must
        # not get the token either.
        self._allowed(reference.service_url or "")
        return ResolvedTarget(reference, stored.key, stored)

    def _allowed(self, service_url: str) -> str:
        try:
            return self._service_urls().check(service_url)
        except ServiceUrlNotAllowed as error:
            raise ServiceUrlRefusedError(error.message) from None
