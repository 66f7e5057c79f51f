"""The sample bot: welcome on members added, echo on message."""

from __future__ import annotations

from bot.samples.echo import ECHO_PREFIX, NO_TEXT_REPLY, WELCOME_TEXT, EchoBot
from bot.turn import BotAdapter, ClaimsIdentity, InMemorySender
from tests.unit.turn.builders import BOT_ID, USER_ID, build_activity

IDENTITY = ClaimsIdentity.anonymous()


async def _texts(**fields: object) -> list[str | None]:
    sender = InMemorySender()
    await BotAdapter(sender).process_activity(build_activity(**fields), IDENTITY, EchoBot().on_turn)
    return sender.texts


class TestEchoBot:
    async def test_echoes_text(self) -> None:
        assert await _texts(text="hello there") == [f"{ECHO_PREFIX}hello there"]
        assert ECHO_PREFIX == "You said: "

    async def test_echo_leaves_out_the_bots_mention(self) -> None:
        texts = await _texts(
            text="<at>Bot</at> hello",
            entities=[{"type": "mention", "mentioned": {"id": BOT_ID}, "text": "<at>Bot</at>"}],
        )
        assert texts == ["You said: hello"]

    async def test_a_message_without_text(self) -> None:
        assert await _texts(text=None, attachments=[{"contentType": "image/png"}]) == [
            NO_TEXT_REPLY
        ]

    async def test_welcomes_once_when_members_join(self) -> None:
        texts = await _texts(
            type="conversationUpdate",
            membersAdded=[{"id": BOT_ID}, {"id": USER_ID}, {"id": "29:other"}],
        )
        assert texts == [WELCOME_TEXT]
        assert WELCOME_TEXT.startswith("Welcome!")

    async def test_says_nothing_when_only_the_bot_joins(self) -> None:
        assert await _texts(type="conversationUpdate", membersAdded=[{"id": BOT_ID}]) == []
