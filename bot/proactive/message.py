"""The proactive queue message (docs/queue-message.md) and the targets a send can name.

A message is UTF-8 JSON with ``version`` 1, an idempotency ``id``, exactly one target
(``conversation``, ``user``, ``teamsChannel`` or ``reference``), the ``activities`` to send in
order, and optionally ``claims`` (only with ``reference``), ``notBefore`` and ``expiresAt``::

    {"version": 1, "id": "report-2026-11-22-ada",
     "conversation": {"channelId": "msteams", "conversationId": "a:1x2y3z"},
     "activities": [{"type": "message", "text": "Your report is ready"}],
     "notBefore": "2026-11-22T09:00:00Z", "expiresAt": "2026-11-22T18:00:00Z"}

Unknown top-level (and target) fields are refused, so a typo such as ``notbefore`` is an error
instead of a send at the wrong time; activities and references are Bot Framework wire objects
and keep unknown fields. The committed JSON Schema (``schemas/proactive-message.schema.json``)
is :func:`message_json_schema`; a unit test keeps the two equal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from bot.delivery.records import DELIVERY_ID_PATTERN, DeliveryMode
from bot.references.teams import THREAD_MARKER
from bot.request_model import RequestModel
from bot.schema import Activity, ConversationReference
from bot.schema.json_document import JsonDocumentError, parse_json

MESSAGE_VERSION = 1
ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
"""An idempotency id: 1 to 128 of ``A-Z a-z 0-9 . _ : -``."""
MAX_ACTIVITIES = 50
"""Activities per message: they are sent one after the other into one conversation, and
Teams allows about 7 per second and 60 per 30 seconds there."""
MAX_ID_LENGTH = 4096
"""Longest channel, conversation or user id accepted (real ones are far shorter)."""
TARGET_FIELDS = ("conversation", "user", "teamsChannel", "reference")
"""The wire names of the fields that name a send's target (exactly one per send)."""
EDIT_OPERATIONS = ("update", "delete")
"""Operations on an earlier delivery instead of a send."""
SCHEMA_ID = "https://schemas.proactive-bot.local/proactive-message.schema.json"
"""``$id`` of the committed JSON Schema (a name, not a place that is fetched)."""
_MAX_REPORTED_ERRORS = 20


def _has_type(activity: Activity) -> Activity:
    if not activity.type.strip():
        raise ValueError("an activity needs a non-empty type")
    return activity


def _cards_ready(activity: Activity) -> Activity:
    from bot.cards.attachments import CardError, prepare_activity

    try:
        return prepare_activity(activity)
    except CardError as error:
        raise ValueError(f"invalid card: {error}") from None


SendableActivity = Annotated[Activity, AfterValidator(_has_type), AfterValidator(_cards_ready)]
"""An activity to send: any Bot Framework activity with a non-empty ``type``, its Adaptive
Card templates expanded and every Adaptive Card valid for Teams (:mod:`bot.cards`)."""

ChannelText = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]


def _iso_text(value: object) -> object:
    # Lax datetime parsing would also take numbers (seconds since 1970); the contract is
    # ISO 8601 text.
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO 8601 time with a zone, for example 2026-11-22T09:00:00Z")
    return value


UtcTime = Annotated[
    AwareDatetime, BeforeValidator(_iso_text), AfterValidator(lambda value: value.astimezone(UTC))
]
"""A time given as ISO 8601 text with a zone (``2026-11-22T09:00:00Z``), held in UTC."""


def check_send_window(not_before: datetime | None, expires_at: datetime | None) -> None:
    """Refuse a send window that closes before it opens.

    Raises:
        ValueError: ``expiresAt`` is not later than ``notBefore``.
    """
    if not_before is not None and expires_at is not None and expires_at <= not_before:
        raise ValueError("expiresAt must be later than notBefore")


class ProactiveEvent(RequestModel):
    """An event a proactive turn starts with: the bot computes what to send when it fires.

    The turn's activity is an ``event`` named :attr:`name` with :attr:`value`, addressed like a
    continuation of the conversation; the bot's middleware, handlers and the assistant's event
    map see it as any other turn (:mod:`bot.proactive.event_turns`).
    """

    name: Annotated[str, Field(min_length=1, max_length=256)]
    value: Any = None


class ConversationTarget(RequestModel):
    """A stored conversation, by its channel's conversation id.

    Without ``channelId`` the id must be unique across channels (and tenants), else the send is
    refused as ambiguous. ``tenantId`` narrows the lookup for channels with tenants (Teams).
    """

    channel_id: ChannelText | None = None
    conversation_id: ChannelText
    tenant_id: ChannelText | None = None


AAD_OBJECT_ID_PATTERN = (
    r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
)
"""An Entra (Azure AD) object id: a GUID."""
MAX_UPN_LENGTH = 320
"""Longest user principal name or email address accepted."""
TEAMS_CHANNEL_ID = "msteams"
"""The Bot Framework channel of Teams targets (``teamsChannel``, users by object id or UPN)."""

AadObjectId = Annotated[
    str, Field(pattern=AAD_OBJECT_ID_PATTERN), AfterValidator(lambda value: value.lower())
]
"""An Entra object id, held in lower case (so one user has one index entry)."""


def _is_upn(value: str) -> str:
    local, at, domain = value.partition("@")
    if not at or not local or "." not in domain or any(char.isspace() for char in value):
        raise ValueError("must be a user principal name or email address, like ada@contoso.com")
    return value


UserPrincipalName = Annotated[
    str, Field(min_length=3, max_length=MAX_UPN_LENGTH), AfterValidator(_is_upn)
]


class UserTarget(RequestModel):
    """A user's latest personal (1:1) conversation with the bot.

    Exactly one of ``userId`` (the channel's user id, ``29:...`` in Teams: a conversation
    stored from the user's own messages), ``aadObjectId`` or ``userPrincipalName`` (Teams only,
    each with ``tenantId``: when no 1:1 chat is stored one is created, docs/targets.md).
    """

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["userId"], "not": {"required": ["tenantId"]}},
                {"required": ["aadObjectId", "tenantId"]},
                {"required": ["userPrincipalName", "tenantId"]},
            ]
        }
    )

    channel_id: ChannelText
    user_id: ChannelText | None = None
    tenant_id: ChannelText | None = None
    aad_object_id: AadObjectId | None = None
    user_principal_name: UserPrincipalName | None = None

    @model_validator(mode="after")
    def _one_user(self) -> Self:
        named = [
            name
            for name, value in (
                ("userId", self.user_id),
                ("aadObjectId", self.aad_object_id),
                ("userPrincipalName", self.user_principal_name),
            )
            if value is not None
        ]
        if len(named) != 1:
            found = ", ".join(named) if named else "none"
            raise ValueError(
                "exactly one of userId, aadObjectId, userPrincipalName is required "
                f"(found: {found})"
            )
        if self.user_id is not None:
            if self.tenant_id is not None:
                raise ValueError("tenantId: only with aadObjectId or userPrincipalName")
            return self
        if self.tenant_id is None:
            raise ValueError(f"tenantId: required with {named[0]}")
        if self.channel_id != TEAMS_CHANNEL_ID:
            raise ValueError(f"channelId: {named[0]} is only supported on {TEAMS_CHANNEL_ID}")
        return self


def _no_thread(value: str) -> str:
    if THREAD_MARKER in value:
        raise ValueError("must be the channel's id without ;messageid= (use replyToId)")
    return value


class TeamsChannelTarget(RequestModel):
    """A Teams channel: a new thread in it, or (with ``replyToId``) a reply in one of its threads.

    ``channelId`` here is the Teams channel (``19:...@thread.tacv2``), not the Bot Framework
    channel, which is always ``msteams``.
    """

    tenant_id: ChannelText
    team_id: ChannelText
    channel_id: Annotated[
        str, Field(min_length=1, max_length=MAX_ID_LENGTH), AfterValidator(_no_thread)
    ]
    reply_to_id: Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)] | None = None

    @property
    def conversation_id(self) -> str:
        """The Connector's conversation id: the channel, or ``channel;messageid=root``."""
        if self.reply_to_id is None:
            return self.channel_id
        return f"{self.channel_id}{THREAD_MARKER}{self.reply_to_id}"


def _reference_is_addressable(reference: ConversationReference) -> ConversationReference:
    missing = [
        name
        for name, present in (
            ("channelId", bool(reference.channel_id)),
            ("serviceUrl", bool(reference.service_url)),
            ("conversation.id", bool(reference.conversation and reference.conversation.id)),
        )
        if not present
    ]
    if missing:
        raise ValueError("a conversation reference needs " + ", ".join(missing))
    return reference


AddressableReference = Annotated[ConversationReference, AfterValidator(_reference_is_addressable)]
"""A Bot Framework ConversationReference with ``channelId``, ``serviceUrl`` and
``conversation.id``."""

Target = ConversationTarget | UserTarget | TeamsChannelTarget | ConversationReference
"""Whom a send goes to: a stored conversation, a user, a Teams channel, or an explicit
reference."""


class ProactiveMessage(RequestModel):
    """One message of the proactive queue (docs/queue-message.md).

    Build it from JSON with :func:`parse_message`; write it with :meth:`to_json`.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {
                    "if": {"required": ["claims"], "properties": {"claims": {"type": "object"}}},
                    "then": {
                        "required": ["reference"],
                        "properties": {"reference": {"type": "object"}},
                    },
                },
                {
                    "if": {
                        "required": ["operation"],
                        "properties": {"operation": {"enum": list(EDIT_OPERATIONS)}},
                    },
                    "then": {
                        "required": ["deliveryId"],
                        "not": {"anyOf": [{"required": [name]} for name in TARGET_FIELDS]},
                    },
                    "else": {
                        "allOf": [
                            {
                                "oneOf": [
                                    {"required": [name], "properties": {name: {"type": "object"}}}
                                    for name in TARGET_FIELDS
                                ]
                            },
                            {"oneOf": [{"required": ["activities"]}, {"required": ["event"]}]},
                        ]
                    },
                },
            ]
        }
    )

    version: Literal[1]
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    conversation: ConversationTarget | None = None
    user: UserTarget | None = None
    teams_channel: TeamsChannelTarget | None = None
    reference: AddressableReference | None = None
    claims: dict[str, Any] | None = None
    """Claims stored with ``reference`` by another SDK. Accepted for compatibility and never
    trusted: the bot acts under its own app id (docs/security-model.md, T2)."""
    activities: (
        Annotated[list[SendableActivity], Field(min_length=1, max_length=MAX_ACTIVITIES)] | None
    ) = None
    """What to send, in order (``send``), or the replacements (``update``)."""
    event: ProactiveEvent | None = None
    """Instead of ``activities``: run a proactive turn with this event when the message is
    handled; what the turn sends is the delivery, under the message's ``id``."""
    operation: Literal["send", "update", "delete"] | None = None
    """``send`` (the default), or ``update`` / ``delete`` of the delivery ``deliveryId``: an
    edit replaces each activity it sent (same count), a recall deletes them. An edit names no
    target: it goes where the delivery went."""
    delivery_id: Annotated[str, Field(pattern=ID_PATTERN)] | None = None
    """The delivery an ``update`` or ``delete`` changes."""
    not_before: UtcTime | None = None
    """Send no earlier than this (ISO 8601 with a zone, for example ``...Z``)."""
    expires_at: UtcTime | None = None
    """Do not send after this; an expired message goes to the poison queue."""
    delivery: DeliveryMode | None = None
    """``atLeastOnce`` (the default) or ``atMostOnce``: what an ambiguous send outcome leads
    to (docs/delivery.md)."""

    @model_validator(mode="after")
    def _check_combination(self) -> Self:
        if self.operation in EDIT_OPERATIONS:
            return self._check_edit()
        if self.delivery_id is not None:
            raise ValueError("deliveryId is only allowed with operation update or delete")
        if (self.activities is None) == (self.event is None):
            raise ValueError("give exactly one of activities and event")
        targets = self._named_targets()
        if len(targets) != 1:
            found = ", ".join(targets) if targets else "none"
            raise ValueError(
                f"exactly one of {', '.join(TARGET_FIELDS)} is required (found: {found})"
            )
        if self.claims is not None and self.reference is None:
            raise ValueError("claims are only allowed with reference")
        check_send_window(self.not_before, self.expires_at)
        return self

    def _check_edit(self) -> Self:
        named = self._named_targets()
        if self.event is not None:
            raise ValueError(f"an {self.operation} takes no event")
        if named or self.claims is not None:
            raise ValueError(
                f"an {self.operation} names no target: it goes where the delivery went "
                f"(found: {', '.join(named or ['claims'])})"
            )
        if self.delivery_id is None:
            raise ValueError(f"deliveryId is required with operation {self.operation}")
        if self.operation == "update" and self.activities is None:
            raise ValueError("an update needs the new activities")
        if self.operation == "delete" and self.activities is not None:
            raise ValueError("a delete takes no activities")
        check_send_window(self.not_before, self.expires_at)
        return self

    def _named_targets(self) -> list[str]:
        """The wire names of the targets the message gives."""
        values = (self.conversation, self.user, self.teams_channel, self.reference)
        return [
            name for name, value in zip(TARGET_FIELDS, values, strict=True) if value is not None
        ]

    @property
    def is_edit(self) -> bool:
        """The message edits or recalls an earlier delivery instead of sending."""
        return self.operation in EDIT_OPERATIONS

    @property
    def activity_list(self) -> list[Activity]:
        """The activities (none for a delete)."""
        return list(self.activities or ())

    @property
    def target(self) -> Target:
        """The one target the message names."""
        target: Target | None = (
            self.conversation or self.user or self.teams_channel or self.reference
        )
        if target is None:  # the validator makes this unreachable
            raise ValueError("the message names no target")
        return target

    def to_json(self) -> str:
        """Compact wire JSON: camelCase, absent fields left out, times in UTC with ``Z``."""
        return json.dumps(self.to_wire(), separators=(",", ":"), ensure_ascii=False)

    def to_wire(self) -> dict[str, Any]:
        """The message as a JSON object (wire names, absent fields left out)."""
        wire = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        # The activities and the reference keep the unknown fields (explicit nulls included)
        # they arrived with.
        if self.activities is not None:
            wire["activities"] = [activity.to_wire() for activity in self.activities]
        if self.reference is not None:
            wire["reference"] = self.reference.to_wire()
        for name, value in (("notBefore", self.not_before), ("expiresAt", self.expires_at)):
            if value is not None:
                wire[name] = _utc_text(value)
        return wire

    def payload_hash(self) -> str:
        """The digest of what the message sends, for the ledger's reuse-of-id check."""
        return payload_hash(self.target, self.activity_list)


class FieldError(BaseModel):
    """One problem of an invalid message or body: where (a dotted wire path) and what.

    Messages never repeat the offending value: it may be message text.
    """

    field: str
    message: str


class InvalidMessageError(ValueError):
    """A proactive message (or an API body) that is not valid.

    Attributes:
        errors: What is wrong, by field.
        message_id: The message's ``id`` when it has a valid one, for its receipt.
    """

    def __init__(self, errors: Sequence[FieldError], message_id: str | None = None) -> None:
        self.errors = list(errors)
        self.message_id = message_id
        super().__init__(describe_errors(self.errors))


def describe_errors(errors: Sequence[FieldError]) -> str:
    """One line naming every field and its problem."""
    if not errors:
        return "the message is invalid"
    return "; ".join(f"{error.field or '(message)'}: {error.message}" for error in errors)


def field_errors(error: ValidationError) -> list[FieldError]:
    """The problems of a pydantic validation error, by wire path, without input values."""
    problems: list[FieldError] = []
    for item in error.errors(include_input=False, include_url=False)[:_MAX_REPORTED_ERRORS]:
        location = ".".join(str(part) for part in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(FieldError(field=location, message=message))
    return problems


def parse_message(data: bytes | str | Mapping[str, Any] | ProactiveMessage) -> ProactiveMessage:
    """Validate a queue message.

    Args:
        data: The message as UTF-8 JSON bytes, text, a decoded object, or a model.

    Returns:
        The validated message.

    Raises:
        InvalidMessageError: It is not UTF-8 JSON, not an object, or not a valid message;
            ``message_id`` is set when its ``id`` is valid.
    """
    if isinstance(data, ProactiveMessage):
        return data
    document: Any = data
    if isinstance(data, bytes | str):
        document = decode_json(data)
    if not isinstance(document, Mapping):
        raise InvalidMessageError([FieldError(field="", message="the message must be an object")])
    try:
        return ProactiveMessage.model_validate(document)
    except ValidationError as error:
        raise InvalidMessageError(field_errors(error), message_id_of(document)) from None


def decode_json(data: bytes | str) -> Any:
    """Decode UTF-8 JSON text (a BOM is allowed; NaN, Infinity and deep nesting are not).

    Raises:
        InvalidMessageError: It is not UTF-8, not JSON, or nested too deeply
            (:mod:`bot.schema.json_document`).
    """
    try:
        return parse_json(data)
    except JsonDocumentError as error:
        raise InvalidMessageError(
            [FieldError(field="", message=f"the message is {error.message}")]
        ) from None


def message_id_of(document: Any) -> str | None:
    """The ``id`` of a decoded message when it is a valid idempotency id, else ``None``."""
    if not isinstance(document, Mapping):
        return None
    value = document.get("id")
    if isinstance(value, str) and DELIVERY_ID_PATTERN.fullmatch(value):
        return value
    return None


def payload_hash(target: Target, activities: Sequence[Activity]) -> str:
    """A digest of a send's target and activities.

    The same send made through the queue (``conversation``) and the HTTP API
    (``conversationId`` and ``channelId``) hashes alike, so one idempotency id covers both.
    """
    document = {"target": target_key(target), "activities": [a.to_wire() for a in activities]}
    text = json.dumps(document, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()


def bot_channel_of(target: Target) -> str | None:
    """The Bot Framework channel a target is on (``msteams`` for a Teams channel)."""
    if isinstance(target, TeamsChannelTarget):
        return TEAMS_CHANNEL_ID
    return target.channel_id


def conversation_of(target: Target) -> str | None:
    """The conversation id a target names itself (``None`` for a user or a Teams channel)."""
    if isinstance(target, ConversationTarget):
        return target.conversation_id
    if isinstance(target, ConversationReference) and target.conversation is not None:
        return target.conversation.id
    return None


def target_key(target: Target) -> list[str]:
    """A canonical description of a target (its kind and ids)."""
    if isinstance(target, ConversationTarget):
        return [
            "conversation",
            target.channel_id or "",
            target.tenant_id or "",
            target.conversation_id,
        ]
    if isinstance(target, UserTarget):
        if target.user_id is not None:
            return ["user", target.channel_id, target.user_id]
        if target.aad_object_id is not None:
            return ["user", target.channel_id, "aad", target.tenant_id or "", target.aad_object_id]
        return [
            "user",
            target.channel_id,
            "upn",
            target.tenant_id or "",
            (target.user_principal_name or "").lower(),
        ]
    if isinstance(target, TeamsChannelTarget):
        return [
            "teamsChannel",
            target.tenant_id,
            target.team_id,
            target.channel_id,
            target.reply_to_id or "",
        ]
    conversation = target.conversation
    return [
        "reference",
        target.channel_id or "",
        (conversation.tenant_id if conversation else None) or "",
        (conversation.id if conversation else None) or "",
        target.service_url or "",
    ]


def message_json_schema() -> dict[str, Any]:
    """The JSON Schema of a queue message (draft 2020-12), as committed in ``schemas/``."""
    schema = ProactiveMessage.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": "Proactive message",
        "description": (
            "A message of the proactive queue (PROACTIVE_QUEUE_NAME): exactly one of "
            "conversation, user, teamsChannel, reference; the activities are sent in order, "
            "at most once per id. With operation update or delete, the delivery deliveryId is "
            "edited or recalled instead (no target), once per id."
        ),
    }


def _utc_text(moment: datetime) -> str:
    text = moment.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"
