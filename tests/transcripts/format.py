"""The transcript format: a conversation as the user and the bot would write it down.

::

    # The counter of the SDK v3 dialogs docs.
    user: hi
    bot: 1: You said hi
    user: reset
    bot: Are you sure you want to reset the count?
    user: yes
    bot: Reset count.

Lines (``#`` at the start of a line is a comment; blank lines are ignored):

``user: TEXT``
    The user sends a message.
``event: NAME [JSON]``
    The user's client sends an ``event`` activity named NAME with the JSON value (e.g.
    ``event: DeviceStart {"location": "car"}``).
``[join]``
    Only as the first step: the bot's answers to the user joining (the ``conversationUpdate``
    every conversation starts with) are checked. Without it they are not.
``[restart]``
    The bot restarts: in process a new adapter and bot over the same storage, end to end a
    new function host. Nothing may be expected from it.
``bot: TEXT``
    The bot answers the step above with a message of exactly this text, in this order.
``proactive: TEXT``
    The bot sends this message on its own (a proactive send) after the step above, maybe
    seconds later; the player waits for it (with a deadline) before the next step.
``bot matches: REGEX`` / ``proactive matches: REGEX``
    A message whose whole text matches the regular expression.
``bot activity: JSON`` / ``proactive activity: JSON``
    An activity whose wire JSON contains these fields (nested objects compared the same way).

A line that starts with spaces or tabs continues the line above: the continuation lines are
dedented together and joined to it with newlines, so a bot message of several lines reads::

    bot: Pick a colour
      1. Red
      2. Green
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUFFIX = ".transcript"


class TranscriptSyntaxError(ValueError):
    """A transcript line that cannot be read; the message names the file and line."""

    def __init__(self, source: str, line: int, message: str) -> None:
        super().__init__(f"{source}:{line}: {message}")
        self.source = source
        self.line = line


@dataclass(frozen=True)
class Join:
    """The user joins the conversation (checked only as the first step)."""


@dataclass(frozen=True)
class Say:
    """The user sends a text message."""

    text: str


@dataclass(frozen=True)
class SendEvent:
    """The user's client sends an ``event`` activity."""

    name: str
    value: Any = None


@dataclass(frozen=True)
class Restart:
    """The bot restarts; its state must survive."""


Action = Join | Say | SendEvent | Restart


@dataclass(frozen=True)
class Expectation:
    """One activity the bot must send.

    Attributes:
        line: Where it is written.
        source: The transcript line, for messages.
        proactive: Sent on the bot's own initiative (may arrive late), not as an answer.
        text: The exact text of a message.
        pattern: A regular expression the whole text of a message matches.
        fields: Fields the activity's wire JSON contains.
    """

    line: int
    source: str
    proactive: bool = False
    text: str | None = None
    pattern: re.Pattern[str] | None = None
    fields: Mapping[str, Any] | None = None

    def matches(self, activity: Mapping[str, Any]) -> bool:
        """Whether the bot's activity (wire JSON) is the expected one."""
        if self.fields is not None:
            return _contains(activity, self.fields)
        if activity.get("type") != "message":
            return False
        text = activity.get("text")
        if not isinstance(text, str):
            return False
        if self.pattern is not None:
            return self.pattern.fullmatch(text) is not None
        return text == self.text


@dataclass(frozen=True)
class Turn:
    """A step of the user (or a restart) and what the bot must send after it.

    Attributes:
        action: What happens.
        line: Where it is written.
        source: The transcript line.
        expected: The activities the bot sends after it, in transcript order.
    """

    action: Action
    line: int
    source: str
    expected: tuple[Expectation, ...] = ()

    @property
    def replies(self) -> tuple[Expectation, ...]:
        """The expected answers, in order."""
        return tuple(item for item in self.expected if not item.proactive)

    @property
    def proactive(self) -> tuple[Expectation, ...]:
        """The expected proactive messages, in order."""
        return tuple(item for item in self.expected if item.proactive)


@dataclass(frozen=True)
class Transcript:
    """A parsed transcript.

    Attributes:
        name: Its name (the file's name without the suffix).
        turns: The steps, in order.
        source: Where it was read from.
    """

    name: str
    turns: tuple[Turn, ...]
    source: str = "<transcript>"

    @property
    def checks_join(self) -> bool:
        """Whether the bot's answers to the user joining are checked."""
        return bool(self.turns) and isinstance(self.turns[0].action, Join)

    @classmethod
    def load(cls, path: Path) -> Transcript:
        """Read a transcript file."""
        return parse(path.read_text(encoding="utf-8"), name=path.stem, source=str(path))


_SPEAKER = re.compile(
    r"^(?P<who>user|event|bot|proactive)(?:\s+(?P<how>matches|activity))?:(?:[ \t](?P<rest>.*))?$"
)
_DIRECTIVE = re.compile(r"^\[(?P<name>join|restart)\]\s*$")


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with their continuations folded in: (line number, text)."""
    lines: list[tuple[int, str]] = []
    pending: list[str] = []

    def flush() -> None:
        if pending and lines:
            number, head = lines[-1]
            lines[-1] = (number, head + "\n" + textwrap.dedent("\n".join(pending)))
        pending.clear()

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if line[:1] in (" ", "\t") and line.strip() and lines:
            pending.append(line)
            continue
        flush()
        if not line or line.startswith("#"):
            continue
        lines.append((number, line))
    flush()
    return lines


def parse(text: str, *, name: str = "transcript", source: str = "<transcript>") -> Transcript:
    """Read a transcript from text.

    Raises:
        TranscriptSyntaxError: A line is not in the format, or an expectation comes before
            any step, or a step is misplaced.
    """
    turns: list[Turn] = []
    for number, line in _logical_lines(text):
        head = line.split("\n", 1)[0]
        directive = _DIRECTIVE.match(line)
        if directive is not None:
            if directive["name"] == "join":
                if turns:
                    raise TranscriptSyntaxError(source, number, "[join] can only be the first step")
                turns.append(Turn(Join(), number, head))
            else:
                turns.append(Turn(Restart(), number, head))
            continue
        match = _SPEAKER.match(line.split("\n", 1)[0])
        if match is None:
            raise TranscriptSyntaxError(
                source,
                number,
                "expected 'user:', 'event:', 'bot:', 'proactive:', '[join]' or '[restart]'",
            )
        rest = line[match.start("rest") :] if match["rest"] is not None else ""
        who, how = match["who"], match["how"]
        if who in ("user", "event"):
            if how is not None:
                raise TranscriptSyntaxError(source, number, f"'{who} {how}:' is not a step")
            turns.append(Turn(_action(who, rest, source, number), number, head))
            continue
        if not turns:
            raise TranscriptSyntaxError(source, number, f"'{who}:' before any step")
        previous = turns[-1]
        if isinstance(previous.action, Restart):
            raise TranscriptSyntaxError(source, number, "nothing can be expected of [restart]")
        expectation = _expectation(who == "proactive", how, rest, source, number, head)
        turns[-1] = Turn(
            previous.action, previous.line, previous.source, (*previous.expected, expectation)
        )
    return Transcript(name=name, turns=tuple(turns), source=source)


def _action(who: str, rest: str, source: str, line: int) -> Action:
    if who == "user":
        if not rest.strip():
            raise TranscriptSyntaxError(source, line, "'user:' needs a text")
        return Say(rest)
    event_name, *value_parts = re.split(r"\s+", rest.strip(), maxsplit=1)
    value_text = value_parts[0] if value_parts else ""
    if not event_name:
        raise TranscriptSyntaxError(source, line, "'event:' needs a name")
    value: Any = None
    if value_text.strip():
        try:
            value = json.loads(value_text)
        except ValueError as error:
            raise TranscriptSyntaxError(source, line, f"event value is not JSON: {error}") from None
    return SendEvent(event_name, value)


def _expectation(
    proactive: bool, how: str | None, rest: str, source: str, line: int, head: str
) -> Expectation:
    if how == "matches":
        try:
            pattern = re.compile(rest)
        except re.error as error:
            raise TranscriptSyntaxError(source, line, f"bad regular expression: {error}") from None
        return Expectation(line, head, proactive, pattern=pattern)
    if how == "activity":
        try:
            fields = json.loads(rest)
        except ValueError as error:
            raise TranscriptSyntaxError(source, line, f"activity is not JSON: {error}") from None
        if not isinstance(fields, dict):
            raise TranscriptSyntaxError(source, line, "activity must be a JSON object")
        return Expectation(line, head, proactive, fields=fields)
    return Expectation(line, head, proactive, text=rest)


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            key in actual and _contains(actual[key], value) for key, value in expected.items()
        )
    return bool(actual == expected)
