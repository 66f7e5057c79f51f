"""Channel ids: the values of ``Activity.channelId`` for the channels the bot meets.

An open set like the other enumerations: ``channelId`` stays ``str``.
"""

from __future__ import annotations

from enum import StrEnum


class Channels(StrEnum):
    """Bot Framework channel ids."""

    MSTEAMS = "msteams"
    WEBCHAT = "webchat"
    DIRECTLINE = "directline"
    DIRECTLINE_SPEECH = "directlinespeech"
    SLACK = "slack"
    EMULATOR = "emulator"
    TEST = "test"
    EMAIL = "email"
    FACEBOOK = "facebook"
    TELEGRAM = "telegram"
    SMS = "sms"
    LINE = "line"
    KIK = "kik"
    GROUPME = "groupme"
    SKYPE = "skype"
    CORTANA = "cortana"
    CONSOLE = "console"
    OMNICHANNEL = "omnichannel"
    OUTLOOK = "outlook"
    M365_EXTENSIONS = "m365extensions"
