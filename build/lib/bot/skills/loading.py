"""Loading the skills file and the event map file: everything checked, at start-up.

Whatever is wrong is reported at once, as a :class:`~bot.skills.errors.SkillConfigError` naming
the file, each entry and the reason, so a bad deployment fails when the host starts, not on the
first user who says something to a broken skill. Checked:

* the files are JSON objects of the expected shape, with no unknown or repeated keys;
* each skill entry (:class:`~bot.skills.manifest.SkillManifest`): its id, patterns (they must
  compile), providers and parameters; ids are unique;
* each skill's class imports, is a :class:`~bot.skills.skill.Skill`, accepts the entry's
  ``configuration`` (its :attr:`~bot.skills.skill.Skill.configuration_model`) and builds;
* each event is mapped once, to skills that exist and handle it.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.skills.errors import ConfigProblem, SkillConfigError
from bot.skills.event_map import EventMap, EventSubscription
from bot.skills.manifest import EventMapDocument, EventRoute, SkillManifest, SkillsDocument
from bot.skills.skill import Skill

_MESSAGES = {
    "Field required": "is required",
    "Extra inputs are not permitted": "is not a known field (a typo?)",
}


@dataclass(frozen=True)
class SkillCatalog:
    """The skills and the event map, loaded and checked.

    Attributes:
        skills: The skills, built, in file order.
        events: Which skills get which events.
    """

    skills: tuple[Skill, ...]
    events: EventMap


def load_skill_catalog(skills_path: Path, events_path: Path | None = None) -> SkillCatalog:
    """Load and check both files, and build the skills.

    Args:
        skills_path: The skills file.
        events_path: The event map file; no events are routed when omitted.

    Raises:
        SkillConfigError: A file is missing or wrong; every problem is named.
    """
    skills = load_skills(skills_path)
    events = load_event_map(events_path, skills) if events_path is not None else EventMap()
    return SkillCatalog(tuple(skills), events)


def load_skills(path: Path) -> list[Skill]:
    """Load the skills file and build its skills.

    Raises:
        SkillConfigError: The file is missing or wrong.
    """
    document = _read_json(path)
    try:
        entries = SkillsDocument.model_validate(document).skills
    except ValidationError as error:
        raise SkillConfigError(path, _problems("", error)) from None
    problems: list[ConfigProblem] = []
    skills: list[Skill] = []
    first_entry: dict[str, str] = {}
    for index, raw in enumerate(entries):
        entry = _entry_label("skills", index, raw, "id")
        try:
            manifest = SkillManifest.model_validate(raw)
        except ValidationError as error:
            problems.extend(_problems(entry, error))
            continue
        if manifest.id in first_entry:
            problems.append(
                ConfigProblem(entry, f"id: {first_entry[manifest.id]} has the id already")
            )
            continue
        first_entry[manifest.id] = f"skills[{index}]"
        skill = _build(manifest, entry, problems)
        if skill is not None:
            skills.append(skill)
    if problems:
        raise SkillConfigError(path, problems)
    return skills


def load_event_map(path: Path, skills: Sequence[Skill]) -> EventMap:
    """Load the event map file, checked against the skills.

    Raises:
        SkillConfigError: The file is missing or wrong.
    """
    document = _read_json(path)
    try:
        entries = EventMapDocument.model_validate(document).skill_events
    except ValidationError as error:
        raise SkillConfigError(path, _problems("", error)) from None
    by_id = {skill.id: skill for skill in skills}
    problems: list[ConfigProblem] = []
    subscriptions: list[EventSubscription] = []
    first_entry: dict[str, str] = {}
    for index, raw in enumerate(entries):
        entry = _entry_label("skillEvents", index, raw, "event")
        try:
            route = EventRoute.model_validate(raw)
        except ValidationError as error:
            problems.extend(_problems(entry, error))
            continue
        if route.event in first_entry:
            problems.append(
                ConfigProblem(
                    entry,
                    f"event: {first_entry[route.event]} maps {route.event!r} already; "
                    "list all of its skills there",
                )
            )
            continue
        first_entry[route.event] = f"skillEvents[{index}]"
        route_problems = _route_problems(route, by_id)
        problems.extend(ConfigProblem(entry, reason) for reason in route_problems)
        if not route_problems:
            subscriptions.append(
                EventSubscription(route.event, tuple(route.skill_ids), dict(route.parameters))
            )
    if problems:
        raise SkillConfigError(path, problems)
    return EventMap(subscriptions)


def _route_problems(route: EventRoute, skills: Mapping[str, Skill]) -> list[str]:
    reasons: list[str] = []
    for position, skill_id in enumerate(route.skill_ids):
        skill = skills.get(skill_id)
        if skill is None:
            known = ", ".join(sorted(skills)) or "none"
            reasons.append(
                f"skillIds[{position}]: no skill has the id {skill_id!r} (the skills: {known})"
            )
        elif route.event not in skill.handled_events():
            reasons.append(
                f"skillIds[{position}]: the skill {skill_id!r} ({type(skill).__name__}) does "
                f"not handle the event {route.event!r}: give it a method decorated with "
                f"@handles_event({route.event!r})"
            )
    return reasons


def _build(manifest: SkillManifest, entry: str, problems: list[ConfigProblem]) -> Skill | None:
    skill_class = _import_skill_class(manifest.class_path, entry, problems)
    if skill_class is None:
        return None
    try:
        configuration: BaseModel = skill_class.configuration_model.model_validate(
            manifest.configuration
        )
    except ValidationError as error:
        problems.extend(_problems(entry, error, prefix="configuration"))
        return None
    try:
        return skill_class(manifest, configuration)
    except Exception as error:
        problems.append(
            ConfigProblem(entry, f"building {manifest.class_path} failed: {_describe(error)}")
        )
        return None


def _import_skill_class(
    class_path: str, entry: str, problems: list[ConfigProblem]
) -> type[Skill] | None:
    module_name, _, class_name = class_path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        problems.append(ConfigProblem(entry, f"class: there is no module {error.name!r}"))
        return None
    except Exception as error:
        problems.append(
            ConfigProblem(entry, f"class: importing {module_name} failed: {_describe(error)}")
        )
        return None
    found = getattr(module, class_name, None)
    if found is None:
        problems.append(ConfigProblem(entry, f"class: {module_name} has no {class_name!r}"))
        return None
    if not isinstance(found, type) or not issubclass(found, Skill):
        problems.append(
            ConfigProblem(entry, f"class: {class_path} is not a subclass of bot.skills.Skill")
        )
        return None
    return found


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SkillConfigError(path, [ConfigProblem("", "the file does not exist")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise SkillConfigError(
            path, [ConfigProblem("", f"the file cannot be read: {_describe(error)}")]
        ) from None
    try:
        return json.loads(text, object_pairs_hook=_no_repeated_keys)
    except json.JSONDecodeError as error:
        raise SkillConfigError(
            path,
            [
                ConfigProblem(
                    "", f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
                )
            ],
        ) from None
    except _RepeatedKeyError as error:
        raise SkillConfigError(path, [ConfigProblem("", str(error))]) from None


class _RepeatedKeyError(ValueError):
    pass


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # JSON lets the last of two equal keys win silently; in a configuration file that hides
    # a mistake.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _RepeatedKeyError(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _entry_label(section: str, index: int, raw: Any, key: str) -> str:
    label = f"{section}[{index}]"
    name = raw.get(key) if isinstance(raw, Mapping) else None
    if isinstance(name, str) and name:
        label += f" ({key} {name!r})"
    return label


def _problems(entry: str, error: ValidationError, *, prefix: str = "") -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for item in error.errors(include_input=False, include_url=False):
        location = _location([prefix, *item["loc"]] if prefix else list(item["loc"]))
        message = str(item["msg"]).removeprefix("Value error, ")
        message = _MESSAGES.get(message, message)
        problems.append(ConfigProblem(entry, f"{location}: {message}" if location else message))
    return problems


def _location(parts: Sequence[str | int]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def _describe(error: BaseException) -> str:
    detail = str(error)
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__
