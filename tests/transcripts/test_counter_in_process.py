"""The counter's transcripts, played in process (adapter, in-memory sender and storage)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.samples.counter import CounterBot
from bot.state import MemoryStateStorage
from tests.transcripts import Transcript, TranscriptMismatch, parse, play, transcripts_of
from tests.transcripts.in_process import InProcessChannel

COUNTER_TRANSCRIPTS = transcripts_of("counter")


def test_the_counter_has_transcripts() -> None:
    names = {path.stem for path in COUNTER_TRANSCRIPTS}
    assert {"reset_yes", "reset_no", "cancel", "restart"} <= names


@pytest.mark.parametrize("path", COUNTER_TRANSCRIPTS, ids=lambda path: path.stem)
async def test_counter_transcript(path: Path) -> None:
    channel = InProcessChannel(CounterBot)

    await play(Transcript.load(path), channel)


async def test_restart_keeps_state_only_in_storage() -> None:
    storage = MemoryStateStorage()
    channel = InProcessChannel(CounterBot, storage=storage)

    await play(Transcript.load(Path(__file__).parent / "counter" / "restart.transcript"), channel)

    assert channel.restarts == 2
    assert storage.documents  # the count and the stack lived in the storage


async def test_a_wrong_answer_fails_with_both_sides_shown() -> None:
    transcript = parse("user: hi\nbot: 2: You said hi\n", source="wrong.transcript")

    with pytest.raises(TranscriptMismatch) as failure:
        await play(transcript, InProcessChannel(CounterBot))

    message = str(failure.value)
    assert "wrong.transcript:1" in message
    assert "bot: 2: You said hi" in message
    assert "bot: 1: You said hi" in message


async def test_an_unexpected_answer_fails() -> None:
    transcript = parse("user: hi\n", source="short.transcript")

    with pytest.raises(TranscriptMismatch, match="not the one expected"):
        await play(transcript, InProcessChannel(CounterBot), timeout=0.01)


async def test_a_missing_answer_fails_after_the_deadline() -> None:
    transcript = parse("user: hi\nbot: 1: You said hi\nbot: and more\n")

    with pytest.raises(TranscriptMismatch, match="1 expected activity did not arrive"):
        await play(transcript, InProcessChannel(CounterBot), timeout=0.01)
