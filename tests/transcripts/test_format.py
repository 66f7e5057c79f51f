"""Reading transcripts."""

from __future__ import annotations

import pytest

from tests.transcripts import (
    Join,
    Restart,
    Say,
    SendEvent,
    TranscriptSyntaxError,
    parse,
    transcripts_of,
)


def test_steps_and_what_the_bot_answers() -> None:
    transcript = parse(
        "# a comment\n"
        "\n"
        "user: hi\n"
        "bot: 1: You said hi\n"
        "user: reset\n"
        "bot: Are you sure you want to reset the count?\n"
    )

    assert [turn.action for turn in transcript.turns] == [Say("hi"), Say("reset")]
    assert [item.text for item in transcript.turns[0].expected] == ["1: You said hi"]
    assert transcript.turns[1].line == 5
    assert not transcript.checks_join


def test_events_with_json_values_and_proactive_messages() -> None:
    transcript = parse(
        'event: DeviceStart {"location": {"lat": 47.6}}\n'
        "bot: Checking your calendar.\n"
        "proactive: You have a meeting at 10:00.\n"
        "event: Ping\n"
    )

    first, second = transcript.turns
    assert first.action == SendEvent("DeviceStart", {"location": {"lat": 47.6}})
    assert [item.text for item in first.replies] == ["Checking your calendar."]
    assert [item.text for item in first.proactive] == ["You have a meeting at 10:00."]
    assert second.action == SendEvent("Ping", None)


def test_continuation_lines_make_a_multi_line_message() -> None:
    transcript = parse("user: colour?\nbot: Pick one\n    1. Red\n      2. Green\nuser: 1\n")

    (expected,) = transcript.turns[0].expected
    assert expected.text == "Pick one\n1. Red\n  2. Green"
    assert expected.matches({"type": "message", "text": "Pick one\n1. Red\n  2. Green"})
    assert transcript.turns[1].action == Say("1")


def test_json_event_values_can_span_lines() -> None:
    transcript = parse(
        'event: DeviceStart {\n    "a": 1,\n    "b": [2]\n  }\nevent: Next\n  {"c": 3}\n'
    )

    assert transcript.turns[0].action == SendEvent("DeviceStart", {"a": 1, "b": [2]})
    assert transcript.turns[1].action == SendEvent("Next", {"c": 3})


def test_patterns_and_activity_fields() -> None:
    transcript = parse(
        "user: when?\n"
        r"bot matches: \d+ meetings? today" + "\n"
        'proactive activity: {"type": "event", "name": "reminder", "value": {"id": 1}}\n'
    )

    pattern, fields = transcript.turns[0].expected
    assert pattern.matches({"type": "message", "text": "3 meetings today"})
    assert not pattern.matches({"type": "message", "text": "3 meetings today!"})
    assert not pattern.matches({"type": "typing"})
    assert fields.proactive
    assert fields.matches({"type": "event", "name": "reminder", "value": {"id": 1, "x": 2}})
    assert not fields.matches({"type": "event", "name": "reminder", "value": {"id": 2}})


def test_a_text_is_matched_exactly() -> None:
    (expected,) = parse("user: hi\nbot: Hello\n").turns[0].expected

    assert expected.matches({"type": "message", "text": "Hello"})
    assert not expected.matches({"type": "message", "text": "hello"})
    assert not expected.matches({"type": "message", "text": "Hello "})
    assert not expected.matches({"type": "event", "text": "Hello"})


def test_join_and_restart() -> None:
    transcript = parse("[join]\nbot: Welcome!\nuser: hi\n[restart]\nuser: again\n")

    assert transcript.checks_join
    assert [type(turn.action) for turn in transcript.turns] == [Join, Say, Restart, Say]
    assert [item.text for item in transcript.turns[0].expected] == ["Welcome!"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("bot: hello\n", "before any step"),
        ("user: hi\n[join]\n", "first step"),
        ("user: hi\n[restart]\nbot: hello\n", "nothing can be expected"),
        ("robot: hi\n", "expected 'user:'"),
        ("user:\n", "needs a text"),
        ("event:\n", "needs a name"),
        ("event: X {not json}\n", "not JSON"),
        ("user: x\nbot activity: [1]\n", "JSON object"),
        ("user: x\nbot matches: (\n", "regular expression"),
        ("user matches: x\n", "not a step"),
    ],
)
def test_mistakes_are_reported_with_their_line(text: str, problem: str) -> None:
    with pytest.raises(TranscriptSyntaxError, match=problem) as error:
        parse(text, source="bad.transcript")

    assert str(error.value).startswith("bad.transcript:")


@pytest.mark.parametrize("bot", ["counter"])
def test_every_transcript_file_parses(bot: str) -> None:
    paths = transcripts_of(bot)

    assert paths
    for path in paths:
        assert parse(path.read_text(encoding="utf-8"), source=str(path)).turns
