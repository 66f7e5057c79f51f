"""Plays a transcript through a channel and checks what the bot sends.

The same player drives the bot in process (:mod:`tests.transcripts.in_process`) and end to end
through the local function host (:mod:`tests.transcripts.local_stack`); a channel only has to
implement :class:`TranscriptChannel`.

How answers are attributed to steps: a bot answers within the turn, so by the time a step has
been delivered (the bot answered its HTTP request) its answers are with the channel. Proactive
messages may come later: the player waits for them, up to a deadline, by asking the channel to
wait for more activities (never by sleeping). What the bot sent after a step must be exactly
the step's expectations: the ``bot:`` ones in order, the ``proactive:`` ones in order, the two
interleaved in any way. Anything more is an error.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tests.transcripts.format import (
    Expectation,
    Join,
    Restart,
    Say,
    SendEvent,
    Transcript,
    Turn,
)

Activity = dict[str, Any]

DEFAULT_TIMEOUT_SECONDS = 15.0
"""How long the player waits for an expected activity that has not arrived."""

IGNORED_TYPES: frozenset[str] = frozenset({"typing"})
"""Activity types the bot may send anywhere without a transcript line."""


class TranscriptChannel(Protocol):
    """Where a transcript is played: one conversation between one user and the bot."""

    async def open(self) -> None:
        """Start the conversation: the user joins (the bot gets a ``conversationUpdate``)."""
        ...

    async def say(self, text: str) -> None:
        """The user sends a message; returns once the bot has answered the request."""
        ...

    async def send_event(self, name: str, value: Any) -> None:
        """The user's client sends an ``event`` activity; returns once the bot answered."""
        ...

    async def restart(self) -> None:
        """Restart the bot (its storage survives)."""
        ...

    async def bot_activities(self) -> list[Activity]:
        """Everything the bot sent in the conversation so far, as wire JSON, in order."""
        ...

    async def wait_for_bot_activities(self, count: int, timeout: float) -> None:  # noqa: ASYNC109 - the channel decides how to wait
        """Return once the bot has sent ``count`` activities in all, or ``timeout`` passed."""
        ...


class TranscriptMismatch(AssertionError):
    """The bot did not send what the transcript says; the message shows both."""


@dataclass
class _Progress:
    seen: int = 0  # activities of the conversation already attributed to a step


async def play(
    transcript: Transcript,
    channel: TranscriptChannel,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,  # noqa: ASYNC109 - a deadline per expectation
    ignored_types: Collection[str] = IGNORED_TYPES,
) -> None:
    """Play the transcript and check every activity the bot sends.

    Args:
        transcript: What to play.
        channel: Where.
        timeout: Seconds to wait for an expected activity that has not arrived yet.
        ignored_types: Activity types that are not checked.

    Raises:
        TranscriptMismatch: The bot sent something else, more, or less.
    """
    progress = _Progress()
    await channel.open()
    if not transcript.checks_join:
        progress.seen = len(await channel.bot_activities())
    for index, turn in enumerate(transcript.turns):
        match turn.action:
            case Join():
                pass  # the join was open(), above
            case Say(text=text):
                await channel.say(text)
            case SendEvent(name=name, value=value):
                await channel.send_event(name, value)
            case Restart():
                await channel.restart()
        await _check(transcript, index, turn, channel, progress, timeout, ignored_types)


async def _check(
    transcript: Transcript,
    index: int,
    turn: Turn,
    channel: TranscriptChannel,
    progress: _Progress,
    timeout: float,  # noqa: ASYNC109
    ignored_types: Collection[str],
) -> None:
    expected = turn.expected
    deadline = time.monotonic() + timeout
    while True:
        everything = await channel.bot_activities()
        new = [
            item for item in everything[progress.seen :] if item.get("type") not in ignored_types
        ]
        remaining = deadline - time.monotonic()
        if len(new) >= len(expected) or remaining <= 0:
            break
        await channel.wait_for_bot_activities(len(everything) + 1, remaining)
    progress.seen = len(everything)
    problem = _compare(turn.replies, turn.proactive, new)
    if problem is not None:
        raise TranscriptMismatch(_report(transcript, index, turn, new, problem))


def _compare(
    replies: Sequence[Expectation], proactive: Sequence[Expectation], received: list[Activity]
) -> str | None:
    reply_at = proactive_at = 0
    for position, activity in enumerate(received):
        if reply_at < len(replies) and replies[reply_at].matches(activity):
            reply_at += 1
        elif proactive_at < len(proactive) and proactive[proactive_at].matches(activity):
            proactive_at += 1
        else:
            return f"activity {position + 1} after the step is not the one expected"
    missing = len(replies) - reply_at + len(proactive) - proactive_at
    if missing:
        return f"{missing} expected activit{'y' if missing == 1 else 'ies'} did not arrive"
    return None


def describe(activity: Mapping[str, Any]) -> str:
    """An activity as a transcript line would show it."""
    if activity.get("type") == "message" and isinstance(activity.get("text"), str):
        text = str(activity["text"]).replace("\n", "\n      ")
        return f"bot: {text}"
    summary = {key: activity[key] for key in ("type", "name", "value") if key in activity}
    return f"bot activity: {summary}"


def _report(
    transcript: Transcript, index: int, turn: Turn, received: list[Activity], problem: str
) -> str:
    lines = [f"{transcript.source}:{turn.line}: after `{turn.source}`: {problem}"]
    lines.append("  expected:")
    lines.extend(f"    {item.source}" for item in turn.expected)
    if not turn.expected:
        lines.append("    (nothing)")
    lines.append("  received:")
    lines.extend(f"    {describe(activity)}" for activity in received)
    if not received:
        lines.append("    (nothing)")
    if index:
        lines.append(f"  (step {index + 1} of {len(transcript.turns)})")
    return "\n".join(lines)
