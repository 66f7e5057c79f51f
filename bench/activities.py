"""The inbound activity the benchmarks post: a Teams personal-chat message to the bot.

It carries what Teams sends with a real message (an @mention of the bot, client info, tenant
channel data, an HTML attachment), about 1.4 KB, so parsing and mention removal do real work.
"""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CONTENT_TYPE = "application/json; charset=utf-8"


def conversation_id(index: int) -> str:
    """The id of benchmark conversation ``index`` (Teams-like: ``a:1...``)."""
    return f"a:1conversation-{index:06d}-bench-bbbbbbbbbbbbbbbbbbbbbbbbbb"


def teams_message(
    index: int, *, conversation: int, service_url: str, app_id: str, run_id: str = "bench"
) -> bytes:
    """Message ``index`` of a user to the bot in conversation number ``conversation``.

    Args:
        index: Makes the activity id and the text unique.
        conversation: Which conversation (and user) the message belongs to.
        service_url: The channel's serviceUrl (must match the token's ``serviceurl`` claim).
        app_id: The bot's app id (the recipient is ``28:<app id>``).
        run_id: Distinguishes the activity ids of separate runs.
    """
    now = datetime.datetime.now(datetime.UTC)
    bot_id = f"28:{app_id}"
    document: dict[str, Any] = {
        "text": f"<at>Bench Bot</at> when is report {index} due?",
        "textFormat": "plain",
        "attachments": [
            {"contentType": "text/html", "content": "<div><at>Bench Bot</at> when is it?</div>"}
        ],
        "type": "message",
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "localTimestamp": now.isoformat(),
        "id": f"{run_id}-{index}",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {
            "id": f"29:1user-{conversation:06d}-bench-aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "name": "Ada Lovelace",
            "aadObjectId": str(uuid.UUID(int=conversation + 1)),
        },
        "conversation": {
            "conversationType": "personal",
            "tenantId": TENANT_ID,
            "id": conversation_id(conversation),
        },
        "recipient": {"id": bot_id, "name": "Bench Bot"},
        "entities": [
            {
                "mentioned": {"id": bot_id, "name": "Bench Bot"},
                "text": "<at>Bench Bot</at>",
                "type": "mention",
            },
            {
                "locale": "en-GB",
                "country": "GB",
                "platform": "Web",
                "timezone": "Europe/London",
                "type": "clientInfo",
            },
        ],
        "channelData": {"tenant": {"id": TENANT_ID}, "source": {"name": "message"}},
        "locale": "en-GB",
        "localTimezone": "Europe/London",
    }
    return json.dumps(document).encode("utf-8")
