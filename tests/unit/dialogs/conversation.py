"""A conversation with a dialog bot in process, one message at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.dialogs import Dialog, DialogManager, DialogTurnResult, Interruption
from bot.turn import ActivityHandler, TurnContext
from tests.transcripts.in_process import InProcessChannel


class DialogBot(ActivityHandler):
    """Runs a dialog manager on every message and keeps the last result."""

    def __init__(self, manager: DialogManager) -> None:
        self.manager = manager
        self.results: list[DialogTurnResult] = []

    async def on_message_activity(self, context: TurnContext) -> None:
        self.results.append(await self.manager.run(context))


class Conversation:
    """Say things to a dialog bot; each call returns the bot's replies to it.

    The bot (and its dialog objects) is built again for every turn, as on a host that keeps
    nothing in memory: everything the dialogs remember must be in state.
    """

    def __init__(
        self,
        main: Callable[[], Dialog],
        *,
        dialogs: Callable[[], Iterable[Dialog]] = tuple,
        interruptions: Callable[[], Iterable[Interruption]] = tuple,
    ) -> None:
        self.bots: list[DialogBot] = []

        def build() -> DialogBot:
            manager = DialogManager(main(), dialogs=dialogs(), interruptions=interruptions())
            bot = DialogBot(manager)
            self.bots.append(bot)
            return bot

        self.channel = InProcessChannel(build)
        self._opened = False

    async def say(self, text: str) -> list[str | None]:
        """Send a message; the texts the bot sent in answer."""
        if not self._opened:
            await self.channel.open()
            self._opened = True
        else:
            await self.channel.restart()
        before = len(self.channel.sender.sent)
        await self.channel.say(text)
        return self.channel.sender.texts[before:]

    @property
    def last(self) -> DialogTurnResult:
        """The dialog result of the last message."""
        return self.bots[-1].results[-1]
