"""The protocol's named values for activity fields.

These are open sets: a channel may send a value not listed here (a new activity type, a
channel-specific role), so the model fields stay ``str`` and these members, being ``str``
themselves, compare equal to the wire strings (``activity.type == ActivityTypes.MESSAGE``).
"""

from __future__ import annotations

from enum import StrEnum


class ActivityTypes(StrEnum):
    """Values of ``Activity.type``."""

    MESSAGE = "message"
    CONTACT_RELATION_UPDATE = "contactRelationUpdate"
    CONVERSATION_UPDATE = "conversationUpdate"
    TYPING = "typing"
    END_OF_CONVERSATION = "endOfConversation"
    EVENT = "event"
    INVOKE = "invoke"
    INVOKE_RESPONSE = "invokeResponse"
    DELETE_USER_DATA = "deleteUserData"
    MESSAGE_UPDATE = "messageUpdate"
    MESSAGE_DELETE = "messageDelete"
    INSTALLATION_UPDATE = "installationUpdate"
    MESSAGE_REACTION = "messageReaction"
    SUGGESTION = "suggestion"
    TRACE = "trace"
    HANDOFF = "handoff"
    COMMAND = "command"
    COMMAND_RESULT = "commandResult"


class ActivityEventNames(StrEnum):
    """Well-known ``Activity.name`` values of ``event`` activities."""

    CONTINUE_CONVERSATION = "ContinueConversation"
    CREATE_CONVERSATION = "CreateConversation"


class InvokeNames(StrEnum):
    """Well-known ``Activity.name`` values of ``invoke`` activities."""

    ADAPTIVE_CARD_ACTION = "adaptiveCard/action"


class InstallationUpdateActions(StrEnum):
    """Values of ``Activity.action`` on ``installationUpdate`` activities."""

    ADD = "add"
    REMOVE = "remove"
    ADD_UPGRADE = "add-upgrade"
    REMOVE_UPGRADE = "remove-upgrade"


class EndOfConversationCodes(StrEnum):
    """Values of ``Activity.code`` on ``endOfConversation`` activities."""

    UNKNOWN = "unknown"
    COMPLETED_SUCCESSFULLY = "completedSuccessfully"
    USER_CANCELLED = "userCancelled"
    BOT_TIMED_OUT = "botTimedOut"
    BOT_ISSUED_INVALID_MESSAGE = "botIssuedInvalidMessage"
    CHANNEL_FAILED = "channelFailed"


class DeliveryModes(StrEnum):
    """Values of ``Activity.deliveryMode``."""

    NORMAL = "normal"
    NOTIFICATION = "notification"
    EXPECT_REPLIES = "expectReplies"
    EPHEMERAL = "ephemeral"


class RoleTypes(StrEnum):
    """Values of ``ChannelAccount.role``."""

    USER = "user"
    BOT = "bot"
    SKILL = "skill"


class InputHints(StrEnum):
    """Values of ``Activity.inputHint``."""

    ACCEPTING_INPUT = "acceptingInput"
    IGNORING_INPUT = "ignoringInput"
    EXPECTING_INPUT = "expectingInput"


class TextFormatTypes(StrEnum):
    """Values of ``Activity.textFormat``."""

    MARKDOWN = "markdown"
    PLAIN = "plain"
    XML = "xml"


class AttachmentLayoutTypes(StrEnum):
    """Values of ``Activity.attachmentLayout``."""

    LIST = "list"
    CAROUSEL = "carousel"


class MessageReactionTypes(StrEnum):
    """Values of ``MessageReaction.type`` (Teams also sends ``heart``, ``laugh``, ...)."""

    LIKE = "like"
    PLUS_ONE = "plusOne"


class ActionTypes(StrEnum):
    """Values of ``CardAction.type``."""

    OPEN_URL = "openUrl"
    IM_BACK = "imBack"
    POST_BACK = "postBack"
    PLAY_AUDIO = "playAudio"
    PLAY_VIDEO = "playVideo"
    SHOW_IMAGE = "showImage"
    DOWNLOAD_FILE = "downloadFile"
    SIGNIN = "signin"
    CALL = "call"
    MESSAGE_BACK = "messageBack"
