"""The player: proactive messages, events, ignored activity types, interleaving, in process."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bot.schema import Activity, ConversationReference
from bot.state import bot_state, conversation_property
from bot.turn import ActivityHandler, BotAdapter, ClaimsIdentity, TurnContext, handles_event
from tests.transcripts import TranscriptMismatch, parse, play
from tests.transcripts.in_process import InProcessChannel

REMINDERS = conversation_property("test.reminders", int, default=0)


class ReminderBot(ActivityHandler):
    """On ``DeviceStart`` it answers at once and reminds later, from a proactive turn."""

    def __init__(
        self, adapter_of: Callable[[], BotAdapter], pending: set[asyncio.Task[None]]
    ) -> None:
        self._adapter_of = adapter_of
        self._pending = pending

    @handles_event("DeviceStart")
    async def on_device_start(self, context: TurnContext) -> None:
        await context.send_activity(Activity(type="typing"))
        place = (context.activity.value or {}).get("place", "somewhere")
        await context.send_activity(f"Checking your calendar from the {place}.")
        # Runs after this turn has ended, as a queue-triggered proactive send would.
        task = asyncio.create_task(self._remind(self._adapter_of(), context.reference))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _remind(self, adapter: BotAdapter, reference: ConversationReference) -> None:
        await adapter.continue_conversation(
            reference, ClaimsIdentity.for_bot("28:bot"), self._send_reminder
        )

    async def _send_reminder(self, context: TurnContext) -> None:
        state = bot_state(context)
        count = await state.get(REMINDERS) + 1
        await state.set(REMINDERS, count)
        await context.send_activity(f"Reminder {count}: you have a meeting at 10:00.")

    async def on_message_activity(self, context: TurnContext) -> None:
        count = await bot_state(context).get(REMINDERS)
        await context.send_activity(f"{count} reminders so far.")


def reminder_channel() -> tuple[InProcessChannel, set[asyncio.Task[None]]]:
    pending: set[asyncio.Task[None]] = set()
    holder: list[InProcessChannel] = []
    channel = InProcessChannel(lambda: ReminderBot(lambda: holder[0].adapter, pending))
    holder.append(channel)
    return channel, pending


async def test_proactive_messages_are_waited_for_and_state_saved_in_proactive_turns() -> None:
    channel, pending = reminder_channel()
    transcript = parse(
        'event: DeviceStart {"place": "car"}\n'
        "bot: Checking your calendar from the car.\n"
        "proactive: Reminder 1: you have a meeting at 10:00.\n"
        "user: how many?\n"
        "bot: 1 reminders so far.\n"
        "event: DeviceStart\n"
        "proactive matches: Reminder 2: .*\n"
        "bot: Checking your calendar from the somewhere.\n"
        "user: and now?\n"
        "bot: 2 reminders so far.\n"
    )

    await play(transcript, channel)

    assert all(task.done() for task in pending)
    typing = [item for item in channel.sender.activities if item.type == "typing"]
    assert len(typing) == 2  # sent, and ignored by the player


async def test_a_proactive_message_that_never_comes_fails_at_the_deadline() -> None:
    channel, _ = reminder_channel()
    transcript = parse(
        "event: DeviceStart\n"
        "bot: Checking your calendar from the somewhere.\n"
        "proactive: Reminder 1: you have a meeting at 10:00.\n"
        "proactive: A second reminder that never comes.\n"
    )

    with pytest.raises(TranscriptMismatch, match="1 expected activity did not arrive"):
        await play(transcript, channel, timeout=0.2)


async def test_replies_keep_their_order() -> None:
    channel, _ = reminder_channel()
    transcript = parse("user: a\nbot: 0 reminders so far.\nbot: something else\n")

    with pytest.raises(TranscriptMismatch) as failure:
        await play(transcript, channel, timeout=0.01)

    assert "bot: something else" in str(failure.value)
    assert "received:\n    bot: 0 reminders so far." in str(failure.value)
