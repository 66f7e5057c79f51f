"""Transcript tests: conversations written down as ``user:`` and ``bot:`` lines, played in
process (:class:`InProcessChannel`) or end to end (:class:`LocalStackChannel`).

See :mod:`tests.transcripts.format` for the format and :mod:`tests.transcripts.player` for how
answers are matched. Transcript files live next to this module, one folder per bot.
"""

from __future__ import annotations

from pathlib import Path

from tests.transcripts.format import (
    Expectation,
    Join,
    Restart,
    Say,
    SendEvent,
    Transcript,
    TranscriptSyntaxError,
    Turn,
    parse,
)
from tests.transcripts.player import TranscriptChannel, TranscriptMismatch, play

TRANSCRIPTS = Path(__file__).parent
"""The folder of the transcript files (``<bot>/<name>.transcript``)."""


def transcripts_of(bot: str) -> list[Path]:
    """The transcript files of a bot, sorted."""
    return sorted((TRANSCRIPTS / bot).glob("*.transcript"))


__all__ = [
    "TRANSCRIPTS",
    "Expectation",
    "Join",
    "Restart",
    "Say",
    "SendEvent",
    "Transcript",
    "TranscriptChannel",
    "TranscriptMismatch",
    "TranscriptSyntaxError",
    "Turn",
    "parse",
    "play",
    "transcripts_of",
]
