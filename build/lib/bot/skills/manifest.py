"""The two configuration files, as models: the skills file and the event map file.

The skills file declares the skills the assistant runs in process (the Virtual Assistant's
skill registration, in Python terms)::

    {
      "skills": [
        {
          "id": "calendar",
          "name": "Calendar",
          "class": "bot.samples.skills.calendar:CalendarSkill",
          "description": "your meetings",
          "examples": ["what's next on my calendar?"],
          "dispatch": {"keywords": ["calendar", "meeting"], "patterns": ["^what's next"]},
          "supportedProviders": ["Azure Active Directory v2"],
          "parameters": ["timezone"],
          "configuration": {"lookaheadMinutes": 60}
        }
      ]
    }

The event map file routes events to skills (several skills may take one event; all get it)::

    {"skillEvents": [{"event": "DeviceStart", "skillIds": ["calendar", "briefing"]}]}

Unknown fields are errors, so a misspelt field fails at start-up instead of being ignored.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, field_validator

from bot.dialogs.words import normalized
from bot.request_model import RequestModel
from bot.skills.parameters import KNOWN_PARAMETERS

SKILL_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
"""A skill id: a letter, then up to 63 letters, digits, ``_`` or ``-``."""
CLASS_PATH_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
"""Where a skill class is: ``package.module:ClassName``."""
MAX_TEXT = 200

ShortText = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]


def _unique(values: list[str], what: str) -> list[str]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value!r} is listed twice")
        seen.add(value)
    return values


class DispatchRules(RequestModel):
    """How utterances are routed to a skill, by rules (no language service).

    Both see the utterance normalised: case-folded, punctuation dropped, single spaces
    (``"What's next on my Calendar?"`` is ``what's next on my calendar``).

    Attributes:
        patterns: Regular expressions searched in the utterance. A pattern match is strong:
            it also switches away from another active skill.
        keywords: Words or phrases found as whole words in the utterance. A keyword match is
            weak: it only starts a skill when none is active.
    """

    patterns: list[ShortText] = Field(default_factory=list)
    keywords: list[ShortText] = Field(default_factory=list)

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for index, pattern in enumerate(patterns):
            try:
                re.compile(pattern, re.IGNORECASE)
            except re.error as error:
                raise ValueError(
                    f"pattern {index} ({pattern!r}) is not a valid regular expression: {error}"
                ) from None
        return _unique(patterns, "pattern")

    @field_validator("keywords")
    @classmethod
    def _has_words(cls, keywords: list[str]) -> list[str]:
        for keyword in keywords:
            if not normalized(keyword):
                raise ValueError(f"keyword {keyword!r} has no words")
        return _unique([normalized(keyword) for keyword in keywords], "keyword")


class SkillManifest(RequestModel):
    """One skill of the skills file.

    Attributes:
        type: Always ``skill`` (room for other kinds of entries later).
        id: The skill's id: the event map names it, and its state lives under it.
        name: What the user is told the skill is called.
        class_path: ``package.module:ClassName`` of a :class:`~bot.skills.skill.Skill`
            subclass (``class`` in the file), imported at start-up.
        description: What it does, for the help text.
        examples: Things to say to it, for the help text.
        dispatch: Which utterances go to it.
        supported_providers: Authentication providers (OAuth connection names) it can use;
            declared, checked and handed to the skill, not used by the assistant.
        parameters: Values from the assistant's state the skill gets each turn (see
            :data:`~bot.skills.parameters.KNOWN_PARAMETERS`).
        configuration: The skill's own settings, checked against its
            :attr:`~bot.skills.skill.Skill.configuration_model` at start-up.
    """

    type: Literal["skill"] = "skill"
    id: Annotated[str, Field(pattern=SKILL_ID_PATTERN)]
    name: ShortText
    class_path: Annotated[
        str,
        Field(
            pattern=CLASS_PATH_PATTERN,
            validation_alias=AliasChoices("class", "classPath"),
            serialization_alias="class",
        ),
    ]
    description: Annotated[str, Field(max_length=MAX_TEXT)] = ""
    examples: list[ShortText] = Field(default_factory=list)
    dispatch: DispatchRules = Field(default_factory=DispatchRules)
    supported_providers: list[ShortText] = Field(default_factory=list)
    parameters: list[str] = Field(default_factory=list)
    configuration: dict[str, Any] = Field(default_factory=dict)

    @field_validator("supported_providers")
    @classmethod
    def _providers(cls, providers: list[str]) -> list[str]:
        for provider in providers:
            if provider != provider.strip() or any(ord(char) < 32 for char in provider):
                raise ValueError(
                    f"provider {provider!r} has leading or trailing spaces or control characters"
                )
        return _unique(providers, "provider")

    @field_validator("parameters")
    @classmethod
    def _known_parameters(cls, parameters: list[str]) -> list[str]:
        for parameter in parameters:
            if parameter not in KNOWN_PARAMETERS:
                known = ", ".join(sorted(KNOWN_PARAMETERS))
                raise ValueError(f"unknown parameter {parameter!r}; the assistant has {known}")
        return _unique(parameters, "parameter")


class SkillsDocument(RequestModel):
    """The skills file: its entries are validated one by one (see :mod:`bot.skills.loading`)."""

    schema_: str | None = Field(None, alias="$schema")
    skills: Annotated[list[dict[str, Any]], Field(min_length=1)]


class EventRoute(RequestModel):
    """One entry of the event map file.

    Attributes:
        event: The event's name (``Activity.name``), matched exactly, as ``handles_event``.
        skill_ids: The skills that get the event, in this order (``skillId`` is accepted too,
            the Virtual Assistant's spelling).
        parameters: Extra values handed to each skill with this event.
    """

    event: ShortText
    skill_ids: Annotated[
        list[Annotated[str, Field(pattern=SKILL_ID_PATTERN)]],
        Field(min_length=1, validation_alias=AliasChoices("skillIds", "skillId")),
    ]
    parameters: dict[str, str] = Field(default_factory=dict)

    @field_validator("skill_ids")
    @classmethod
    def _no_repeats(cls, skill_ids: list[str]) -> list[str]:
        return _unique(skill_ids, "skill")


class EventMapDocument(RequestModel):
    """The event map file: its entries are validated one by one."""

    schema_: str | None = Field(None, alias="$schema")
    skill_events: list[dict[str, Any]]
