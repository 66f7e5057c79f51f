"""Skills on the assistant's stack: active until ``endOfConversation``, own state, events to
several skills, and failures that cost an apology, not the conversation."""

from __future__ import annotations

import logging

import pytest

from bot.schema import Activity
from bot.skills import FAILED_TEXT, SkillEndReason
from bot.turn import ClaimsIdentity
from dev.channel import activities
from tests.transcripts.in_process import BOT, SERVICE_URL
from tests.unit.skills import sample_skills
from tests.unit.skills.chat import Chat, build

FALLBACK = 'I don\'t know how to help with "{}" yet. Say "help" to see what I can do.'


@pytest.fixture(autouse=True)
def _forget_ended() -> None:
    sample_skills.ENDED.clear()


async def test_a_skill_gets_every_message_until_it_ends() -> None:
    chat = Chat(build([("counter", "CountingSkill")]))

    assert await chat.say("counter") == ["counter count 1"]
    assert await chat.say("anything at all") == ["counter count 2"]
    assert await chat.say("done") == ["counter count 3"]
    assert await chat.say("anything at all") == [FALLBACK.format("anything at all")]


async def test_end_of_conversation_never_reaches_the_channel() -> None:
    chat = Chat(build([("echo", "EchoSkill")]))

    assert await chat.say("echo hi") == ["echo: echo hi"]

    assert [sent.activity.type for sent in chat.sender.sent] == ["message"]
    assert chat.stored().get("dialogStack", []) == []


async def test_each_skill_keeps_its_state_in_its_own_namespace() -> None:
    chat = Chat(build([("a", "CountingSkill"), ("b", "CountingSkill")]))

    await chat.say("a")
    await chat.say("done")
    assert await chat.say("b") == ["b count 1"]
    await chat.say("done")
    assert await chat.say("a") == ["a count 3"]

    stored = chat.stored()
    assert stored["skill.a.count"] == 3
    assert stored["skill.b.count"] == 2
    assert "count" not in stored


async def test_a_skill_that_raises_is_ended_with_an_apology_and_logged_without_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    chat = Chat(build([("boom", "ExplodingSkill")]))

    with caplog.at_level(logging.ERROR):
        replies = await chat.say("boom secret words")

    assert replies == ["about to fail", FAILED_TEXT.format(name="Boom")]
    assert sample_skills.ENDED == [("boom", SkillEndReason.FAILED)]
    assert chat.stored().get("dialogStack", []) == []
    failures = [record for record in caplog.records if "skill 'boom' failed" in record.getMessage()]
    assert len(failures) == 1
    logged = caplog.text
    assert "RuntimeError" in logged
    assert "secret words" not in logged  # neither the user's text nor the exception's message
    assert await chat.say("hello") == [FALLBACK.format("hello")]


async def test_a_skill_that_raises_in_the_middle_of_its_dialog_leaves_nothing_behind() -> None:
    chat = Chat(build([("ask", "AskingSkill")]))
    assert await chat.say("ask") == ["What is your name?"]

    assert await chat.say("explode") == [FAILED_TEXT.format(name="Ask")]

    stored = chat.stored()
    assert stored.get("dialogStack", []) == []
    assert stored.get("skill.ask.dialogStack", []) == []
    assert await chat.say("Ada") == [FALLBACK.format("Ada")]
    assert await chat.say("ask") == ["What is your name?"]
    assert await chat.say("Ada") == ["Thanks, Ada."]


async def test_cancel_tears_the_skill_down_and_no_brings_its_question_back() -> None:
    chat = Chat(build([("ask", "AskingSkill")]))
    await chat.say("ask")

    assert await chat.say("cancel") == ["Do you want to cancel what we are doing?"]
    assert await chat.say("no") == ["What is your name?"]
    assert await chat.say("cancel") == ["Do you want to cancel what we are doing?"]
    assert await chat.say("yes") == ["Cancelled."]

    assert sample_skills.ENDED == [("ask", SkillEndReason.CANCELLED)]
    assert chat.stored().get("skill.ask.dialogStack", []) == []


async def test_a_strong_match_for_another_skill_switches_to_it() -> None:
    chat = Chat(build([("ask", "AskingSkill"), ("echo", "EchoSkill")]))
    await chat.say("ask")

    assert await chat.say("echo this") == ["echo: echo this"]

    assert sample_skills.ENDED == [("ask", SkillEndReason.SWITCHED)]
    assert await chat.say("Ada") == [FALLBACK.format("Ada")]


async def test_a_weak_match_does_not_switch_away_from_an_active_skill() -> None:
    chat = Chat(build([("ask", "AskingSkill"), ("echo", "EchoSkill")], keywords=["parrot"]))
    await chat.say("ask")

    # "parrot" is a keyword of both skills: an answer that contains it is an answer.
    assert await chat.say("Ada parrot") == ["Thanks, Ada parrot."]


async def test_help_answers_and_the_skill_asks_again() -> None:
    chat = Chat(build([("ask", "AskingSkill")]))
    await chat.say("ask")

    replies = await chat.say("help")

    assert replies[0].startswith("I can help with:\n- Ask")
    assert replies[1:] == ["What is your name?"]
    assert await chat.say("Ada") == ["Thanks, Ada."]


async def test_every_subscriber_of_an_event_gets_it_even_when_one_fails() -> None:
    chat = Chat(
        build(
            [("a", "CountingSkill"), ("boom", "ExplodingSkill"), ("b", "CountingSkill")],
            {"Ping": ["a", "boom", "b"]},
        )
    )

    replies = await chat.event("Ping")

    assert replies == [
        "a got Ping (event)",
        FAILED_TEXT.format(name="Boom"),
        "b got Ping (event)",
    ]


async def test_an_event_does_not_change_the_active_skill() -> None:
    chat = Chat(build([("counter", "CountingSkill")], {"Ping": ["counter"]}))
    await chat.say("counter")

    assert await chat.event("Ping") == ["counter got Ping (event)"]
    assert await chat.say("still here") == ["counter count 2"]


async def test_an_active_skill_that_fails_on_an_event_is_taken_off_the_stack() -> None:
    chat = Chat(build([("ask", "AskingSkill")], {"Ping": ["ask"]}))
    await chat.say("ask")
    await chat.say("help")  # an interruption on top of the skill is cleared with it

    assert await chat.event("Ping") == [FAILED_TEXT.format(name="Ask")]

    assert sample_skills.ENDED == [("ask", SkillEndReason.FAILED)]
    stored = chat.stored()
    assert stored.get("dialogStack", []) == []
    assert stored.get("skill.ask.dialogStack", []) == []
    assert await chat.say("Ada") == [FALLBACK.format("Ada")]


async def test_an_unmapped_event_goes_to_the_active_skill_only() -> None:
    chat = Chat(build([("counter", "CountingSkill")]))

    assert await chat.event("Ping") == []
    await chat.say("counter")
    assert await chat.event("Ping") == ["counter got Ping (continue)"]


async def test_parameters_come_from_the_activity_then_from_what_was_remembered() -> None:
    chat = Chat(
        build(
            [("params", "ParametersSkill")],
            {"Ping": ["params"]},
            parameters=["timezone", "userName", "locale"],
        )
    )

    assert await chat.event("Ping") == [
        "locale=en-US, timezone=Europe/Paris, userName=Ada Lovelace"
    ]
    assert await chat.say("params", timezone="America/New_York") == [
        "locale=en-US, timezone=America/New_York, userName=Ada Lovelace"
    ]
    assert await chat.event("Ping") == [
        "locale=en-US, timezone=America/New_York, userName=Ada Lovelace"
    ]


async def test_a_skill_gets_only_the_parameters_it_declared() -> None:
    chat = Chat(build([("params", "ParametersSkill")], parameters=["timezone"]))

    assert await chat.say("params") == ["timezone=Europe/Paris"]


async def test_a_skills_replies_are_buffered_for_expect_replies() -> None:
    chat = Chat(build([("echo", "EchoSkill")]))
    wire = activities.message(
        chat.conversation, user=chat.user, bot=BOT, service_url=SERVICE_URL, text="echo hi"
    )
    wire["deliveryMode"] = "expectReplies"

    result = await chat.adapter.process_activity(
        Activity.from_wire(wire), ClaimsIdentity.anonymous(), chat.factory().on_turn
    )

    assert result.status == 200
    assert [reply["text"] for reply in result.body["activities"]] == ["echo: echo hi"]
    assert chat.sender.sent == []
