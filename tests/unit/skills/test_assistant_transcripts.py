"""The assistant's transcripts, played in process: the shipped skills and configuration, a
fixed clock, the calendar the test writes, in-memory state, queue and schedules."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.transcripts import Transcript, play, transcripts_of
from tests.unit.skills.harness import NOW, AssistantWorld, write_calendar

ASSISTANT_TRANSCRIPTS = transcripts_of("assistant")


def test_the_assistant_has_its_transcripts() -> None:
    names = {path.stem for path in ASSISTANT_TRANSCRIPTS}
    assert {"skill_switch", "cancel_in_skill", "device_start", "reminder_in_skill"} <= names


@pytest.mark.parametrize("path", ASSISTANT_TRANSCRIPTS, ids=lambda path: path.stem)
async def test_assistant_transcript(path: Path, tmp_path: Path) -> None:
    world = AssistantWorld(write_calendar(tmp_path / "calendar.json", NOW))

    await play(Transcript.load(path), world.channel())

    await world.queue.drain()
