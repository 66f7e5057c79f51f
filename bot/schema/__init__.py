"""The Bot Framework Activity protocol as pydantic models.

Wire names are camelCase, Python names snake_case; ``from`` is ``from_``. Unknown fields are
kept and written back unchanged, so ``Activity.from_wire(data).to_wire() == data`` for any
activity a channel sends (explicit nulls of declared fields aside, which mean "absent").
"""

from bot.schema.accounts import ChannelAccount, ConversationAccount
from bot.schema.activity import Activity, MessageReaction, SemanticAction, TextHighlight
from bot.schema.activity_body import (
    MAX_ACTIVITY_BODY_BYTES,
    ActivityBodyError,
    parse_activity_body,
)
from bot.schema.addressing import (
    apply_conversation_reference,
    create_reply,
    get_continuation_activity,
    get_conversation_reference,
    is_continuation_activity,
)
from bot.schema.attachments import Attachment, Entity
from bot.schema.cards import CardAction, SuggestedActions
from bot.schema.channels import Channels
from bot.schema.conversations import (
    ChannelInfo,
    ConversationList,
    ConversationMembers,
    ConversationParameters,
    ConversationResourceResponse,
    ConversationsResult,
    PagedMembersResult,
)
from bot.schema.enums import (
    ActionTypes,
    ActivityEventNames,
    ActivityTypes,
    AttachmentLayoutTypes,
    DeliveryModes,
    EndOfConversationCodes,
    InputHints,
    InstallationUpdateActions,
    InvokeNames,
    MessageReactionTypes,
    RoleTypes,
    TextFormatTypes,
)
from bot.schema.mentions import remove_recipient_mention
from bot.schema.reference import ConversationReference
from bot.schema.responses import (
    Error,
    ErrorResponse,
    ExpectedReplies,
    InnerHttpError,
    InvokeResponse,
    ResourceResponse,
)
from bot.schema.wire_model import (
    WireModel,
    assign_fields,
    construct_valid,
    copy_model,
    wire_json,
)

__all__ = [
    "MAX_ACTIVITY_BODY_BYTES",
    "ActionTypes",
    "Activity",
    "ActivityBodyError",
    "ActivityEventNames",
    "ActivityTypes",
    "Attachment",
    "AttachmentLayoutTypes",
    "CardAction",
    "ChannelAccount",
    "ChannelInfo",
    "Channels",
    "ConversationAccount",
    "ConversationList",
    "ConversationMembers",
    "ConversationParameters",
    "ConversationReference",
    "ConversationResourceResponse",
    "ConversationsResult",
    "DeliveryModes",
    "EndOfConversationCodes",
    "Entity",
    "Error",
    "ErrorResponse",
    "ExpectedReplies",
    "InnerHttpError",
    "InputHints",
    "InstallationUpdateActions",
    "InvokeNames",
    "InvokeResponse",
    "MessageReaction",
    "MessageReactionTypes",
    "PagedMembersResult",
    "ResourceResponse",
    "RoleTypes",
    "SemanticAction",
    "SuggestedActions",
    "TextFormatTypes",
    "TextHighlight",
    "WireModel",
    "apply_conversation_reference",
    "assign_fields",
    "construct_valid",
    "copy_model",
    "create_reply",
    "get_continuation_activity",
    "get_conversation_reference",
    "is_continuation_activity",
    "parse_activity_body",
    "remove_recipient_mention",
    "wire_json",
]
