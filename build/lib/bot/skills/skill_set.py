"""The skills of an assistant, ready to run: their dialogs, the dispatcher and the event map."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from bot.dialogs import DialogContext
from bot.skills.dispatch import Dispatcher
from bot.skills.event_map import EventMap
from bot.skills.loading import SkillCatalog
from bot.skills.skill import Skill
from bot.skills.skill_dialog import SkillDialog, SkillSwitch


class SkillSet:
    """Skills, each with the dialog that keeps it on the assistant's stack.

    Args:
        skills: The skills, in dispatch order (earlier wins a tie).
        events: Which skills get which events.
        default_timezone: The ``timezone`` parameter of users whose zone is not known.

    Raises:
        ValueError: Two skills have one id, or the event map names a skill that is not here.
    """

    def __init__(
        self,
        skills: Iterable[Skill],
        events: EventMap | None = None,
        *,
        default_timezone: str = "UTC",
    ) -> None:
        self.skills = tuple(skills)
        by_id: dict[str, Skill] = {}
        for skill in self.skills:
            if skill.id in by_id:
                raise ValueError(f"two skills have the id {skill.id!r}")
            by_id[skill.id] = skill
        self.events = events or EventMap()
        for subscription in self.events.events.values():
            unknown = [skill_id for skill_id in subscription.skill_ids if skill_id not in by_id]
            if unknown:
                raise ValueError(
                    f"the event {subscription.event!r} is mapped to unknown skills: {unknown}"
                )
        self.dispatcher = Dispatcher(skill.manifest for skill in self.skills)
        self._dialogs = MappingProxyType(
            {
                skill.id: SkillDialog(skill, default_timezone=default_timezone)
                for skill in self.skills
            }
        )

    @classmethod
    def from_catalog(cls, catalog: SkillCatalog, *, default_timezone: str = "UTC") -> SkillSet:
        """The skills of loaded configuration files."""
        return cls(catalog.skills, catalog.events, default_timezone=default_timezone)

    @property
    def dialogs(self) -> Mapping[str, SkillDialog]:
        """Each skill's dialog, by skill id (add them to the assistant's dialogs)."""
        return self._dialogs

    def switch(self) -> SkillSwitch:
        """The interruption that moves between skills on a strong dispatch match."""
        return SkillSwitch(self.dispatcher)

    async def deliver_event(self, dc: DialogContext) -> bool:
        """Give the turn's event to every skill the event map routes it to, in order.

        Returns:
            Whether the event is in the map (then each of its skills had a turn).
        """
        subscription = self.events.route(dc.context.activity.name)
        if subscription is None:
            return False
        for skill_id in subscription.skill_ids:
            await self._dialogs[skill_id].run_event(dc, subscription.parameters)
        return True
