"""Transcripts end to end: the channel talks to ``/api/messages`` of the local function host
(auth on, state in the Cosmos DB emulator), and the connector's records are checked.

The counter runs with ``BOT_SAMPLE=counter``: this module restarts the session's host with it,
and restores the default bot afterwards. ``[restart]`` in a transcript restarts the host again
(the counter and the open question must survive it: they are in Cosmos DB).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from dev.channel import ChannelControl
from dev.stack import LocalStack
from tests.transcripts import Transcript, parse, play, transcripts_of
from tests.transcripts.local_stack import LocalStackChannel

pytestmark = pytest.mark.e2e

COUNTER_SETTINGS = {"BOT_SAMPLE": "counter"}
"""How the composition root is asked to run the counter sample."""
ECHO_ANSWER = "You said: hi"
"""What the default (echo) bot answers "hi": the host ignored ``BOT_SAMPLE``."""


@pytest.fixture(scope="module")
def counter_stack(e2e_stack: LocalStack) -> Iterator[LocalStack]:
    """The session's stack with its host running the counter; the default bot afterwards."""
    e2e_stack.restart_host(COUNTER_SETTINGS)
    try:
        yield e2e_stack
    finally:
        e2e_stack.restart_host()


@pytest.fixture
async def counter_channel(
    counter_stack: LocalStack, channel: ChannelControl, session: aiohttp.ClientSession
) -> LocalStackChannel:
    """A fresh conversation with the counter through the local channel."""
    probe = LocalStackChannel(counter_stack, channel, session, host_settings=COUNTER_SETTINGS)
    await probe.open()
    await probe.say("hi")
    replies = [activity.get("text") for activity in await probe.bot_activities()]
    if ECHO_ANSWER in replies:
        pytest.skip("the host ignores BOT_SAMPLE=counter: the counter is not wired in bot/app.py")
    return LocalStackChannel(counter_stack, channel, session, host_settings=COUNTER_SETTINGS)


@pytest.mark.parametrize("path", transcripts_of("counter"), ids=lambda path: path.stem)
async def test_counter_transcript(counter_channel: LocalStackChannel, path: Path) -> None:
    await play(Transcript.load(path), counter_channel)


async def test_events_reach_the_bot_through_the_host(counter_channel: LocalStackChannel) -> None:
    # The counter ignores events: an event is answered 200 and changes nothing.
    transcript = parse(
        "user: hi\n"
        "bot: 1: You said hi\n"
        'event: DeviceStart {"location": "car"}\n'
        "user: hello\n"
        "bot: 2: You said hello\n",
        source="events",
    )

    await play(transcript, counter_channel)
