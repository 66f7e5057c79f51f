"""The assistant in process, with its real configuration files and fakes at its edges.

The skills are the shipped ones (``config/skills.json``, ``config/events.json``), built with a
calendar file the test writes, a fixed clock, an in-memory queue that delivers each message id
once into the in-process conversation (as the real queue sender's ledger does), and an
in-memory schedule service.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.proactive.message import ConversationTarget, ProactiveMessage
from bot.references import ReferenceStore
from bot.samples.assistant import Assistant
from bot.samples.skills.briefing import BriefingSkill
from bot.samples.skills.calendar import CalendarSkill
from bot.samples.skills.reminders import RemindersSkill
from bot.schedules.documents import new_document, schedule_of
from bot.schedules.records import Schedule, ScheduleFields
from bot.schedules.service import ScheduleService, not_found
from bot.schedules.store import ScheduleStore
from bot.schema import ChannelAccount, ConversationAccount, ConversationReference
from bot.skills import Skill, SkillManifest, SkillSet, load_event_map
from bot.turn import ClaimsIdentity, TurnContext
from tests.transcripts.in_process import BOT, SERVICE_URL, InProcessChannel

REPOSITORY = Path(__file__).resolve().parents[3]
SKILLS_FILE = REPOSITORY / "config" / "skills.json"
EVENTS_FILE = REPOSITORY / "config" / "events.json"
NOW = datetime(2026, 11, 23, 9, 48, tzinfo=UTC)
"""The in-process clock: a Monday morning."""
MEETING_LEAD = timedelta(minutes=12)
"""How far ahead the test calendar's first meeting is."""
REMINDER_LEAD = timedelta(seconds=717)
"""The reminder lead the tests use: the reminder is due 3 s after "now"."""


def write_calendar(path: Path, now: datetime) -> Path:
    """A calendar with 'Design review' 12 minutes after ``now`` and a meeting tomorrow."""
    events = [
        ("design-review", "Design review", now + MEETING_LEAD),
        ("sprint-planning", "Sprint planning", now + timedelta(days=1)),
    ]
    document = {
        "events": [
            {"id": event_id, "title": title, "start": start.isoformat()}
            for event_id, title, start in events
        ]
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def shipped_manifests() -> dict[str, SkillManifest]:
    """The manifests of the shipped skills file, by id."""
    document = json.loads(SKILLS_FILE.read_text(encoding="utf-8"))
    manifests = [SkillManifest.model_validate(entry) for entry in document["skills"]]
    return {manifest.id: manifest for manifest in manifests}


class InMemorySchedules(ScheduleService):
    """The schedule operations the reminders skill uses, in memory."""

    def __init__(self, clock: Callable[[], datetime] = lambda: NOW) -> None:
        super().__init__(
            store=ScheduleStore(),
            references=ReferenceStore(),
            clock=clock,
            min_interval=lambda: timedelta(seconds=1),
        )
        self.documents: dict[str, dict[str, Any]] = {}
        self._now = clock
        self._count = 0

    async def create_fields(
        self, fields: ScheduleFields, schedule_id: str | None = None
    ) -> Schedule:
        self._count += 1
        self._check_interval(fields, self._now())
        document = new_document(schedule_id or f"schedule-{self._count}", fields, self._now())
        self.documents[document["id"]] = document
        return schedule_of(document)

    async def list_all(
        self, *, channel_id: str, conversation_id: str, limit: int = 200
    ) -> list[Schedule]:
        found = [schedule_of(document) for document in self.documents.values()]
        return [
            schedule
            for schedule in found
            if schedule.conversation is not None
            and schedule.conversation.conversation_id == conversation_id
        ][:limit]

    async def delete(self, schedule_id: str) -> None:
        if self.documents.pop(schedule_id, None) is None:
            raise not_found(schedule_id)

    async def update(self, schedule_id: str, patch: Mapping[str, Any]) -> Schedule:
        document = self.documents.get(schedule_id)
        if document is None:
            raise not_found(schedule_id)
        document.update(patch)
        return schedule_of(document)


class InMemoryQueue:
    """The proactive queue in process: records messages; delivers each id once, at once.

    ``notBefore`` is not waited for (unit tests check it on the recorded messages).
    """

    def __init__(self) -> None:
        self.messages: list[ProactiveMessage] = []
        self.delivered: list[str] = []
        self.channel: InProcessChannel | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def enqueue(self, message: ProactiveMessage) -> object:
        self.messages.append(message)
        if self.channel is not None and message.id not in self.delivered:
            self.delivered.append(message.id)
            self._tasks.append(asyncio.create_task(self._deliver(self.channel, message)))
        return message.id

    async def _deliver(self, channel: InProcessChannel, message: ProactiveMessage) -> None:
        target = message.conversation
        assert isinstance(target, ConversationTarget)

        async def send(context: TurnContext) -> None:
            await context.send_activities(list(message.activity_list))

        reference = ConversationReference(
            channel_id=target.channel_id,
            service_url=SERVICE_URL,
            conversation=ConversationAccount(id=target.conversation_id, tenant_id=target.tenant_id),
            bot=ChannelAccount(id=BOT.id, name=BOT.name),
            user=ChannelAccount(id=channel.user.id, name=channel.user.name),
        )
        await channel.adapter.continue_conversation(reference, ClaimsIdentity.anonymous(), send)

    async def drain(self) -> None:
        """Wait for every delivery started so far."""
        await asyncio.gather(*self._tasks)


class AssistantWorld:
    """The assistant's edges for one test: calendar file, clock, queue and schedules."""

    def __init__(
        self, calendar: Path, *, now: datetime = NOW, reminder_lead: timedelta = REMINDER_LEAD
    ) -> None:
        self.calendar = calendar
        self.now = now
        self.reminder_lead = reminder_lead
        self.queue = InMemoryQueue()
        self.schedules = InMemorySchedules(lambda: self.now)
        self.extra_skills: list[Callable[[], Skill]] = []

    def clock(self) -> datetime:
        return self.now

    def skills(self) -> SkillSet:
        """The shipped skills, built with this world's edges (and any extra test skills)."""
        manifests = shipped_manifests()
        skills: list[Skill] = [
            CalendarSkill(
                manifests["calendar"],
                source_path=self.calendar,
                reminder_lead=self.reminder_lead,
                enqueue=self.queue.enqueue,
                clock=self.clock,
            ),
            RemindersSkill(manifests["reminders"], service=self.schedules),
            BriefingSkill(manifests["briefing"], clock=self.clock),
        ]
        skills.extend(factory() for factory in self.extra_skills)
        return SkillSet(skills, load_event_map(EVENTS_FILE, skills))

    def assistant(self) -> Assistant:
        return Assistant(self.skills())

    def channel(self) -> InProcessChannel:
        """A conversation with the assistant; the queue delivers into it."""
        channel = InProcessChannel(self.assistant)
        self.queue.channel = channel
        return channel
