"""The skills and event map files: what loads, and how a wrong one fails (file, entry, reason)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.samples.skills.calendar import CalendarSkill
from bot.skills import SkillConfigError, load_event_map, load_skill_catalog, load_skills
from tests.unit.skills import sample_skills
from tests.unit.skills.harness import EVENTS_FILE, SKILLS_FILE

MODULE = "tests.unit.skills.sample_skills"


def skill(skill_id: str = "echo", class_name: str = "EchoSkill", **fields: Any) -> dict[str, Any]:
    return {"id": skill_id, "name": skill_id.title(), "class": f"{MODULE}:{class_name}", **fields}


def write(path: Path, document: Any) -> Path:
    path.write_text(document if isinstance(document, str) else json.dumps(document), "utf-8")
    return path


def failure(path: Path, document: Any) -> SkillConfigError:
    with pytest.raises(SkillConfigError) as caught:
        load_skills(write(path, document))
    return caught.value


@pytest.mark.usefixtures("configured")
def test_the_shipped_files_load() -> None:
    catalog = load_skill_catalog(SKILLS_FILE, EVENTS_FILE)

    assert [skill.id for skill in catalog.skills] == ["calendar", "reminders", "briefing"]
    assert isinstance(catalog.skills[0], CalendarSkill)
    device_start = catalog.events.route("DeviceStart")
    assert device_start is not None
    assert device_start.skill_ids == ("calendar", "briefing")
    assert catalog.skills[0].manifest.supported_providers == ["Azure Active Directory v2", "Google"]


def test_a_skill_gets_its_validated_configuration(tmp_path: Path) -> None:
    skills = load_skills(
        write(
            tmp_path / "skills.json",
            {"skills": [skill("tuned", "ConfiguredSkill", configuration={"volume": 7})]},
        )
    )

    assert skills[0].configuration == sample_skills.Tuning(volume=7)


@pytest.mark.parametrize(
    ("document", "entry", "reason"),
    [
        ("{", "", "not valid JSON: Expecting property name enclosed in double quotes at line 1"),
        ('{"skills": [], "skills": []}', "", "the key 'skills' appears twice"),
        ({"skills": []}, "", "skills: List should have at least 1 item"),
        ({"skill": [skill()]}, "", "skills: is required"),
        (
            {"skills": [{**skill(), "dispatchIntent": "l_Echo"}]},
            "skills[0] (id 'echo')",
            "dispatchIntent: is not a known field (a typo?)",
        ),
        (
            {"skills": [skill("calendar", dispatch={"patterns": ["(unclosed"]})]},
            "skills[0] (id 'calendar')",
            "dispatch.patterns: pattern 0 ('(unclosed') is not a valid regular "
            "expression: missing ), unterminated subpattern at position 0",
        ),
        (
            {"skills": [skill(parameters=["IPA.Timezone"])]},
            "skills[0] (id 'echo')",
            "parameters: unknown parameter 'IPA.Timezone'; the assistant has locale, timezone, "
            "userName",
        ),
        (
            {"skills": [skill(supportedProviders=["Google", "Google"])]},
            "skills[0] (id 'echo')",
            "supportedProviders: provider 'Google' is listed twice",
        ),
        ({"skills": [skill("bad id")]}, "skills[0] (id 'bad id')", "id: String should match"),
        ({"skills": [{"id": "x", "name": "X"}]}, "skills[0] (id 'x')", "class: is required"),
        ({"skills": [skill(), skill()]}, "skills[1] (id 'echo')", "id: skills[0] has the id"),
        (
            {"skills": [skill(class_name="Missing")]},
            "skills[0] (id 'echo')",
            f"class: {MODULE} has no 'Missing'",
        ),
        (
            {"skills": [{**skill(), "class": "no.such.module:Skill"}]},
            "skills[0] (id 'echo')",
            "class: there is no module 'no'",
        ),
        (
            {"skills": [skill(class_name="NotASkill")]},
            "skills[0] (id 'echo')",
            f"class: {MODULE}:NotASkill is not a subclass of bot.skills.Skill",
        ),
        (
            {"skills": [skill(class_name="BrokenSkill")]},
            "skills[0] (id 'echo')",
            f"building {MODULE}:BrokenSkill failed: OSError: no device",
        ),
        (
            {"skills": [skill(class_name="ConfiguredSkill", configuration={"volume": 11})]},
            "skills[0] (id 'echo')",
            "configuration.volume: Input should be less than or equal",
        ),
        (
            {"skills": [skill(class_name="EchoSkill", configuration={"volume": 1})]},
            "skills[0] (id 'echo')",
            "configuration.volume: is not a known field",
        ),
    ],
)
def test_a_wrong_skills_file_names_the_file_the_entry_and_the_reason(
    tmp_path: Path, document: Any, entry: str, reason: str
) -> None:
    path = tmp_path / "skills.json"

    error = failure(path, document)

    assert error.file == path
    assert error.entry == entry
    assert error.reason.startswith(reason), error.reason
    assert str(path) in str(error)
    assert reason in str(error)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    error = failure(
        tmp_path / "skills.json",
        {"skills": [skill("a", parameters=["nope"]), skill("b"), skill("c", class_name="Nope")]},
    )

    assert [problem.entry for problem in error.problems] == [
        "skills[0] (id 'a')",
        "skills[2] (id 'c')",
    ]


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SkillConfigError, match=r"skills\.json: the file does not exist"):
        load_skills(tmp_path / "skills.json")


@pytest.mark.parametrize(
    ("routes", "entry", "reason"),
    [
        (
            [{"event": "Ping", "skillIds": ["counter", "missing"]}],
            "skillEvents[0] (event 'Ping')",
            "skillIds[1]: no skill has the id 'missing' (the skills: counter, echo)",
        ),
        (
            [{"event": "DeviceStart", "skillIds": ["echo"]}],
            "skillEvents[0] (event 'DeviceStart')",
            "skillIds[0]: the skill 'echo' (EchoSkill) does not handle the event 'DeviceStart': "
            "give it a method decorated with @handles_event('DeviceStart')",
        ),
        (
            [
                {"event": "Ping", "skillIds": ["counter"]},
                {"event": "Ping", "skillIds": ["counter"]},
            ],
            "skillEvents[1] (event 'Ping')",
            "event: skillEvents[0] maps 'Ping' already; list all of its skills there",
        ),
        (
            [{"event": "Ping", "skillIds": []}],
            "skillEvents[0] (event 'Ping')",
            "skillIds: List should have at least 1 item",
        ),
        (
            [{"event": "Ping", "skillIds": ["counter", "counter"]}],
            "skillEvents[0] (event 'Ping')",
            "skillIds: skill 'counter' is listed twice",
        ),
        (
            [{"event": "Ping", "skills": ["counter"]}],
            "skillEvents[0] (event 'Ping')",
            "skillIds: is required",
        ),
    ],
)
def test_a_wrong_event_map_names_the_file_the_entry_and_the_reason(
    tmp_path: Path, routes: list[dict[str, Any]], entry: str, reason: str
) -> None:
    skills = load_skills(
        write(tmp_path / "skills.json", {"skills": [skill(), skill("counter", "CountingSkill")]})
    )
    path = write(tmp_path / "events.json", {"skillEvents": routes})

    with pytest.raises(SkillConfigError) as caught:
        load_event_map(path, skills)

    assert caught.value.file == path
    assert caught.value.entry == entry
    assert caught.value.reason.startswith(reason), caught.value.reason


def test_the_virtual_assistants_spelling_of_the_event_map_is_accepted(tmp_path: Path) -> None:
    skills = load_skills(
        write(tmp_path / "skills.json", {"skills": [skill("counter", "CountingSkill")]})
    )
    path = write(
        tmp_path / "events.json",
        {"skillEvents": [{"event": "Ping", "skillId": ["counter"], "parameters": {"a": "b"}}]},
    )

    events = load_event_map(path, skills)

    route = events.route("Ping")
    assert route is not None
    assert route.skill_ids == ("counter",)
    assert route.parameters == {"a": "b"}
    assert events.route("ping") is None  # names match exactly
