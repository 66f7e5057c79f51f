"""The dispatcher: rules of the skills file, patterns before keywords, earliest match first."""

from __future__ import annotations

from typing import Any

import pytest

from bot.skills import Dispatcher, MatchStrength, SkillManifest
from tests.unit.skills.harness import shipped_manifests


def manifest(skill_id: str, **dispatch: Any) -> SkillManifest:
    return SkillManifest.model_validate(
        {"id": skill_id, "name": skill_id.title(), "class": "x:Y", "dispatch": dispatch}
    )


def test_a_pattern_is_a_strong_match_and_a_keyword_a_weak_one() -> None:
    dispatcher = Dispatcher([manifest("calendar", patterns=["^what's next"], keywords=["meeting"])])

    strong = dispatcher.dispatch("What's next?")
    weak = dispatcher.dispatch("Any meeting soon")

    assert strong is not None
    assert strong.skill_id == "calendar"
    assert strong.strength is MatchStrength.STRONG
    assert weak is not None
    assert weak.strength is MatchStrength.WEAK


def test_patterns_win_over_keywords_of_skills_listed_earlier() -> None:
    dispatcher = Dispatcher(
        [manifest("briefing", keywords=["briefing"]), manifest("reminders", patterns=["send me"])]
    )

    match = dispatcher.dispatch("every day at 8:30 send me a briefing")

    assert match is not None
    assert match.skill_id == "reminders"


def test_the_pattern_that_matches_earliest_in_the_utterance_wins() -> None:
    dispatcher = Dispatcher(
        [
            manifest("calendar", patterns=[r"\bcalendar\b"]),
            manifest("reminders", patterns=["remind me"]),
        ]
    )

    match = dispatcher.dispatch("remind me every Monday to check my calendar")

    assert match is not None
    assert match.skill_id == "reminders"


def test_a_tie_goes_to_the_skill_listed_first() -> None:
    dispatcher = Dispatcher(
        [manifest("first", patterns=["^hello"]), manifest("second", patterns=["^hello"])]
    )

    match = dispatcher.dispatch("hello")

    assert match is not None
    assert match.skill_id == "first"


@pytest.mark.parametrize("text", ["hi", "", None, "meetingroom", "  ?!  "])
def test_other_utterances_are_the_assistants_own(text: str | None) -> None:
    dispatcher = Dispatcher([manifest("calendar", keywords=["meeting"])])

    assert dispatcher.dispatch(text) is None


def test_keywords_are_whole_words_of_the_normalised_utterance() -> None:
    dispatcher = Dispatcher([manifest("calendar", keywords=["Next Meeting"])])

    assert dispatcher.dispatch("When is my NEXT meeting?") is not None
    assert dispatcher.dispatch("next meetings") is None


@pytest.mark.parametrize(
    ("utterance", "skill_id"),
    [
        ("What's next on my calendar?", "calendar"),
        ("what's on my calendar today?", "calendar"),
        ("any meetings", "calendar"),
        ("remind me every Monday at 12:00 to submit my timesheet", "reminders"),
        ("remind me every Monday at 12:00 to check my calendar", "reminders"),
        ("every day at 8:30 send me a briefing", "reminders"),
        ("set a reminder", "reminders"),
        ("list my reminders", "reminders"),
        ("stop reminder 2", "reminders"),
        ("help reminders", "reminders"),
        ("Good morning!", "briefing"),
        ("briefing", "briefing"),
        ("hi", None),
        ("help", None),
        ("cancel", None),
    ],
)
def test_the_shipped_rules(utterance: str, skill_id: str | None) -> None:
    dispatcher = Dispatcher(shipped_manifests().values())

    match = dispatcher.dispatch(utterance)

    assert (match.skill_id if match else None) == skill_id
