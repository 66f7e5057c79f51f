"""A conversation with an assistant in process, for tests that need more than transcripts:
activities with a time zone, the stack and the stored state, what was sent on the wire."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.samples.assistant import Assistant
from bot.schema import Activity
from bot.skills import EventMap, EventSubscription, Skill, SkillManifest, SkillSet
from bot.state import BotStateMiddleware, MemoryStateStorage
from bot.turn import BotAdapter, ClaimsIdentity, InMemorySender
from dev.channel import activities
from dev.channel.conversations import Conversation, new_conversation_id, new_user
from tests.transcripts.in_process import BOT, KEY_SECRET, SERVICE_URL
from tests.unit.skills import sample_skills


def manifest(
    skill_id: str, class_name: str, *, keywords: list[str] | None = None, **fields: Any
) -> SkillManifest:
    """A manifest of a test skill, dispatched by the pattern ``^<id>\\b`` (and keywords)."""
    return SkillManifest.model_validate(
        {
            "id": skill_id,
            "name": skill_id.title(),
            "class": f"tests.unit.skills.sample_skills:{class_name}",
            "dispatch": {"patterns": [rf"^{skill_id}\b"], "keywords": keywords or []},
            **fields,
        }
    )


def build(
    skills: list[tuple[str, str]], events: dict[str, list[str]] | None = None, **fields: Any
) -> Callable[[], Assistant]:
    """A factory of assistants with test skills ``(id, class name)`` and an event map."""

    def create() -> Assistant:
        built: list[Skill] = [
            getattr(sample_skills, class_name)(manifest(skill_id, class_name, **fields))
            for skill_id, class_name in skills
        ]
        routes = [EventSubscription(name, tuple(ids)) for name, ids in (events or {}).items()]
        return Assistant(SkillSet(built, EventMap(routes), default_timezone="Europe/Paris"))

    return create


class Chat:
    """One user and the assistant; the assistant is built again for each turn (no memory)."""

    def __init__(self, factory: Callable[[], Assistant]) -> None:
        self.factory = factory
        self.storage = MemoryStateStorage()
        self.sender = InMemorySender()
        self.adapter = BotAdapter(
            self.sender, middleware=[BotStateMiddleware(self.storage, secret=KEY_SECRET)]
        )
        self.user = new_user("Ada Lovelace", "tenant-1")
        self.conversation = Conversation(
            id=new_conversation_id(),
            channel_id="msteams",
            tenant_id="tenant-1",
            members=[self.user, BOT],
        )

    async def _post(self, wire: dict[str, Any]) -> list[Activity]:
        before = len(self.sender.sent)
        await self.adapter.process_activity(
            Activity.from_wire(wire), ClaimsIdentity.anonymous(), self.factory().on_turn
        )
        return [sent.activity for sent in self.sender.sent[before:]]

    async def say(self, text: str, *, timezone: str | None = None) -> list[str]:
        """The user says ``text``; the texts of the bot's replies."""
        sent = await self._post(
            activities.message(
                self.conversation,
                user=self.user,
                bot=BOT,
                service_url=SERVICE_URL,
                text=text,
                timezone=timezone,
            )
        )
        return [activity.text or "" for activity in sent]

    async def event(self, name: str, value: Any = None) -> list[str]:
        """The user's device sends an event; the texts of the bot's replies."""
        wire = activities.message(
            self.conversation, user=self.user, bot=BOT, service_url=SERVICE_URL, text=""
        )
        for message_only in ("text", "textFormat", "attachments"):
            wire.pop(message_only, None)
        wire.update({"type": "event", "name": name, "value": value})
        sent = await self._post(wire)
        return [activity.text or "" for activity in sent]

    def stored(self) -> dict[str, Any]:
        """Every stored state value, by property name, across documents."""
        values: dict[str, Any] = {}
        for document in self.storage.documents.values():
            values.update(document.values)
        return values
