"""The conversations the channel knows, and who is in them.

Conversations come from the user side (a user starts talking to the bot) and from the bot
(``POST /v3/conversations``). Members are Teams-shaped ``ChannelAccount`` objects, so the
bot's roster reads look like Teams'.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Member:
    """A user or the bot in a conversation.

    Attributes:
        id: The channel account id (``29:...`` for Teams users).
        name: Display name.
        role: ``user`` or ``bot``.
        aad_object_id: Entra object id of a user.
        tenant_id: The user's tenant.
    """

    id: str
    name: str
    role: str = "user"
    aad_object_id: str | None = None
    tenant_id: str | None = None
    user_principal_name: str | None = None

    @property
    def upn(self) -> str:
        """The user's principal name (made up from the name when not set)."""
        given = self.name.partition(" ")[0]
        return self.user_principal_name or f"{given.lower() or 'user'}@contoso.example"

    def channel_account(self) -> dict[str, Any]:
        """As ``from``/``recipient``/``membersAdded`` in an activity."""
        account: dict[str, Any] = {"id": self.id, "name": self.name}
        if self.aad_object_id:
            account["aadObjectId"] = self.aad_object_id
        if self.role == "bot":
            account["role"] = "bot"
        return account

    def teams_member(self) -> dict[str, Any]:
        """As the members endpoints return it (``TeamsChannelAccount``)."""
        member = self.channel_account()
        member.pop("role", None)
        if self.role == "user":
            given, _, surname = self.name.partition(" ")
            member.update(
                {
                    "givenName": given,
                    "surname": surname,
                    "email": self.upn,
                    "userPrincipalName": self.upn,
                    "tenantId": self.tenant_id,
                    "userRole": "user",
                }
            )
        return member

    @classmethod
    def from_account(cls, account: dict[str, Any], tenant_id: str | None) -> Member:
        """A member from a ``ChannelAccount`` the bot sent."""
        return cls(
            id=str(account.get("id", "")),
            name=str(account.get("name") or account.get("id", "")),
            role=str(account.get("role") or "user"),
            aad_object_id=account.get("aadObjectId"),
            tenant_id=tenant_id,
        )


def new_user(name: str = "Ada Lovelace", tenant_id: str | None = None) -> Member:
    """A Teams-like user with a fresh ``29:`` id and Entra object id."""
    given = name.partition(" ")[0].lower() or "user"
    return Member(
        id="29:1" + secrets.token_urlsafe(24),
        name=name,
        aad_object_id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        user_principal_name=f"{given}.{secrets.token_hex(4)}@contoso.example",
    )


def new_conversation_id(conversation_type: str = "personal") -> str:
    """A Teams-like id: ``a:1...`` for a personal chat, ``19:...@thread.v2`` otherwise."""
    if conversation_type == "personal":
        return "a:1" + secrets.token_urlsafe(36)
    return f"19:{secrets.token_hex(16)}@thread.v2"


@dataclass
class Conversation:
    """A conversation between users and the bot.

    Attributes:
        id: The conversation id.
        channel_id: The channel (``msteams``...).
        tenant_id: The tenant.
        conversation_type: ``personal``, ``groupChat`` or ``channel``.
        members: Users and the bot.
        started: The bot has been sent the conversationUpdate that adds it.
        team_id: The team of a Teams channel.
        name: A channel's name.
        threads: The root message ids of a channel's threads.
    """

    id: str
    channel_id: str
    tenant_id: str
    conversation_type: str = "personal"
    members: list[Member] = field(default_factory=list)
    started: bool = False
    team_id: str | None = None
    name: str | None = None
    threads: list[str] = field(default_factory=list)

    @property
    def is_group(self) -> bool:
        """Group chats and channels are groups."""
        return self.conversation_type != "personal"

    @property
    def users(self) -> list[Member]:
        """The members that are not the bot."""
        return [member for member in self.members if member.role != "bot"]

    def member(self, member_id: str) -> Member | None:
        """The member with this id, if any."""
        return next((member for member in self.members if member.id == member_id), None)

    def add_member(self, member: Member) -> None:
        """Add a member unless one with the same id is there."""
        if self.member(member.id) is None:
            self.members.append(member)

    def account(self) -> dict[str, Any]:
        """As ``conversation`` in an activity."""
        account: dict[str, Any] = {
            "id": self.id,
            "conversationType": self.conversation_type,
            "tenantId": self.tenant_id,
        }
        if self.is_group:
            account["isGroup"] = True
        return account


THREAD_MARKER = ";messageid="
"""Teams names a channel's thread ``<channel id>;messageid=<root message id>``."""


@dataclass
class Team:
    """A Teams team: its General channel's id is the team's id.

    Attributes:
        id: The team id (``19:...@thread.tacv2``).
        name: Display name.
        tenant_id: The tenant.
        channels: Its channels, General first.
        bot_installed: The bot is added to the team.
    """

    id: str
    name: str
    tenant_id: str
    channels: list[Conversation] = field(default_factory=list)
    bot_installed: bool = False

    @property
    def members(self) -> list[Member]:
        """The team's users (the General channel's)."""
        return self.channels[0].users if self.channels else []

    def channel_data(self, channel: Conversation | None = None) -> dict[str, Any]:
        """A channel activity's ``channelData`` (team, channel, tenant)."""
        data: dict[str, Any] = {
            "team": {"id": self.id, "name": self.name},
            "tenant": {"id": self.tenant_id},
        }
        if channel is not None:
            data["channel"] = {"id": channel.id, "name": channel.name}
        return data


def new_channel_id() -> str:
    """A Teams-like channel (or team) id."""
    return f"19:{secrets.token_hex(16)}@thread.tacv2"


class ConversationDirectory:
    """Every conversation (and team) the channel knows, by id."""

    def __init__(self) -> None:
        self._conversations: dict[str, Conversation] = {}
        self.teams: dict[str, Team] = {}

    def get(self, conversation_id: str) -> Conversation | None:
        """The conversation with this id, if known (a channel thread's id names its channel)."""
        exact = self._conversations.get(conversation_id)
        root, _, thread = conversation_id.partition(THREAD_MARKER)
        if exact is not None or not thread:
            return exact
        conversation = self._conversations.get(root)
        if conversation is None or conversation.conversation_type != "channel":
            return None
        return conversation

    def remove(self, conversation_id: str) -> None:
        """Forget a conversation (a deleted channel)."""
        self._conversations.pop(conversation_id, None)

    def add_team(self, team: Team) -> Team:
        """Register a team and its channels."""
        self.teams[team.id] = team
        for channel in team.channels:
            self.add(channel)
        return team

    def find_user(self, tenant_id: str, user_id: str) -> Member | None:
        """A known user of the tenant by ``29:`` id, Entra object id or principal name."""
        wanted = user_id.lower()
        for conversation in self._conversations.values():
            if conversation.tenant_id != tenant_id:
                continue
            for user in conversation.users:
                if user.id == user_id or wanted in ((user.aad_object_id or "").lower(), user.upn):
                    return user
        return None

    def bot_reaches(self, tenant_id: str, user: Member) -> bool:
        """Whether the bot's app is there for the user: a chat with the bot, or a team with
        the bot that the user is in (Teams' rule for starting a 1:1 chat)."""
        for conversation in self._conversations.values():
            if conversation.tenant_id != tenant_id or conversation.member(user.id) is None:
                continue
            team = self.teams.get(conversation.team_id or "")
            if team is None and conversation.conversation_type != "channel":
                return True
            if team is not None and team.bot_installed:
                return True
        return False

    def add(self, conversation: Conversation) -> Conversation:
        """Register a conversation (replacing one with the same id)."""
        self._conversations[conversation.id] = conversation
        return conversation

    def all(self) -> list[Conversation]:
        """Every known conversation."""
        return list(self._conversations.values())

    def find_personal(self, tenant_id: str, user_id: str) -> Conversation | None:
        """The 1:1 chat of this user with the bot, if it exists."""
        return next(
            (
                conversation
                for conversation in self._conversations.values()
                if not conversation.is_group
                and conversation.tenant_id == tenant_id
                and any(user.id == user_id for user in conversation.users)
            ),
            None,
        )

    def clear(self) -> None:
        """Forget every conversation and team."""
        self._conversations.clear()
        self.teams.clear()
