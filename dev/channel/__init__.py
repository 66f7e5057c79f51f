"""A local Bot Framework channel: real HTTP servers on 127.0.0.1, no mocks.

* Bot Connector (``/v3/conversations/...``) that records what the bot sends, with fault
  injection and optional Teams rate limits, plus the control API under ``/_channel/``;
* OpenID issuer (``/v1/.well-known/...``) whose keys sign channel tokens;
* HTTPS token endpoint for MSAL (``/{tenant}/oauth2/v2.0/token``), with a local CA.

In process: ``channel = await start_channel(ChannelConfig(bot_url=...))``. As a process:
``python -m dev.channel --state-file PATH`` or :class:`ChannelProcess`. Drive either with
:class:`ChannelControl`.
"""

from dev.channel.config import ChannelConfig
from dev.channel.control_client import ChannelControl, ChannelControlError
from dev.channel.conversations import Conversation, Member
from dev.channel.faults import Fault
from dev.channel.issuer import ChannelIssuer, TokenDefect
from dev.channel.keys import ChannelKeys
from dev.channel.process import ChannelProcess
from dev.channel.rate_limit import SlidingWindowLimiter, TeamsRateLimiter, Window
from dev.channel.recorder import ActivityRecorder, RecordedRequest
from dev.channel.server import RunningChannel, start_channel
from dev.channel.user_client import BotResponse, UserClient

__all__ = [
    "ActivityRecorder",
    "BotResponse",
    "ChannelConfig",
    "ChannelControl",
    "ChannelControlError",
    "ChannelIssuer",
    "ChannelKeys",
    "ChannelProcess",
    "Conversation",
    "Fault",
    "Member",
    "RecordedRequest",
    "RunningChannel",
    "SlidingWindowLimiter",
    "TeamsRateLimiter",
    "TokenDefect",
    "UserClient",
    "Window",
    "start_channel",
]
