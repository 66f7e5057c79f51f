"""The dispatcher: which skill, if any, an utterance is for, by the rules of the skills file.

Rules instead of a language service: each skill lists regular expressions (``patterns``) and
words (``keywords``) in its ``dispatch`` entry. The utterance is normalised (case-folded,
punctuation dropped, single spaces) and:

1. the skill with a pattern found in it wins, with a strong match: the skill whose match starts
   earliest in the utterance, then the first in file order ("remind me every Monday to check my
   calendar" is a reminder, though ``calendar`` is a pattern of the calendar skill);
2. otherwise the first skill, in file order, with a keyword in it (as whole words) wins, with a
   weak match;
3. otherwise the utterance is the assistant's own.

Patterns come first because they are the specific rules: "every day at 8:30 send me a
briefing" is a reminder (a pattern of the reminders skill) even though "briefing" is a keyword
of another skill. Only strong matches switch away from a skill that is already active (see
:class:`~bot.skills.skill_dialog.SkillSwitch`): a keyword in an answer to a skill's question
is more likely the answer than a change of subject.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from bot.dialogs.words import normalized
from bot.skills.manifest import SkillManifest


class MatchStrength(StrEnum):
    """How sure the dispatcher is."""

    STRONG = "strong"
    """A pattern matched."""
    WEAK = "weak"
    """Only a keyword matched."""


@dataclass(frozen=True)
class DispatchMatch:
    """An utterance's skill.

    Attributes:
        skill_id: The skill.
        strength: Whether a pattern or only a keyword matched.
    """

    skill_id: str
    strength: MatchStrength


@dataclass(frozen=True)
class _Rules:
    skill_id: str
    patterns: tuple[re.Pattern[str], ...]
    keywords: tuple[str, ...]


class Dispatcher:
    """Routes utterances to skills by their manifests' ``dispatch`` rules.

    Args:
        manifests: The skills, in the order of the skills file (earlier wins a tie).
    """

    def __init__(self, manifests: Iterable[SkillManifest]) -> None:
        self._rules = tuple(
            _Rules(
                manifest.id,
                tuple(re.compile(pattern, re.IGNORECASE) for pattern in manifest.dispatch.patterns),
                tuple(manifest.dispatch.keywords),
            )
            for manifest in manifests
        )

    def dispatch(self, utterance: str | None) -> DispatchMatch | None:
        """The skill the utterance is for; ``None`` when it is the assistant's own."""
        text = normalized(utterance)
        if not text:
            return None
        best: tuple[int, int] | None = None  # (where the match starts, file position)
        for position, rules in enumerate(self._rules):
            for pattern in rules.patterns:
                found = pattern.search(text)
                if found is not None and (best is None or (found.start(), position) < best):
                    best = (found.start(), position)
        if best is not None:
            return DispatchMatch(self._rules[best[1]].skill_id, MatchStrength.STRONG)
        padded = f" {text} "
        for rules in self._rules:
            if any(f" {keyword} " in padded for keyword in rules.keywords):
                return DispatchMatch(rules.skill_id, MatchStrength.WEAK)
        return None
