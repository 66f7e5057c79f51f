"""Skills: domain bots plugged into an assistant by configuration, run in process.

The Virtual Assistant's skills, in Python:

* a skill is a bot (:class:`Skill`, an :class:`~bot.turn.ActivityHandler`) declared in a
  skills file (:class:`SkillManifest`: id, name, class to import, dispatch rules, auth
  providers, parameters, configuration) and loaded by import path (:func:`load_skill_catalog`);
* the dispatcher (:class:`Dispatcher`) routes an utterance to a skill by rules;
* the skill stays active on the assistant's dialog stack (:class:`SkillDialog`) until it sends
  ``endOfConversation``; "cancel" and "help" still work meanwhile;
* an event map file (:class:`EventMap`) routes events to skills, several per event;
* each skill keeps its state in its own namespace (:mod:`bot.skills.scope`).

A wrong skills or event map file is a :class:`SkillConfigError` at start-up, naming the file,
the entry and the reason. A skill that raises costs the user an apology, not the conversation.
"""

from bot.skills.dispatch import Dispatcher, DispatchMatch, MatchStrength
from bot.skills.errors import ConfigProblem, SkillConfigError
from bot.skills.event_map import EventMap, EventSubscription
from bot.skills.invocation import (
    ForwardingSender,
    SkillOutcome,
    derive_context,
    log_skill_failure,
    run_skill_turn,
)
from bot.skills.loading import SkillCatalog, load_event_map, load_skill_catalog, load_skills
from bot.skills.manifest import DispatchRules, EventRoute, SkillManifest
from bot.skills.parameters import KNOWN_PARAMETERS, remember_user_context, resolve_parameters
from bot.skills.scope import namespace, skill_property
from bot.skills.skill import (
    SKILL_TURN,
    EmptyConfiguration,
    Skill,
    SkillEndReason,
    SkillTrigger,
    SkillTurn,
    skill_turn,
)
from bot.skills.skill_dialog import (
    FAILED_TEXT,
    SkillDialog,
    SkillSwitch,
    is_skill_dialog,
    skill_dialog_id,
)
from bot.skills.skill_set import SkillSet

__all__ = [
    "FAILED_TEXT",
    "KNOWN_PARAMETERS",
    "SKILL_TURN",
    "ConfigProblem",
    "DispatchMatch",
    "DispatchRules",
    "Dispatcher",
    "EmptyConfiguration",
    "EventMap",
    "EventRoute",
    "EventSubscription",
    "ForwardingSender",
    "MatchStrength",
    "Skill",
    "SkillCatalog",
    "SkillConfigError",
    "SkillDialog",
    "SkillEndReason",
    "SkillManifest",
    "SkillOutcome",
    "SkillSet",
    "SkillSwitch",
    "SkillTrigger",
    "SkillTurn",
    "derive_context",
    "is_skill_dialog",
    "load_event_map",
    "load_skill_catalog",
    "load_skills",
    "log_skill_failure",
    "namespace",
    "remember_user_context",
    "resolve_parameters",
    "run_skill_turn",
    "skill_dialog_id",
    "skill_property",
    "skill_turn",
]
