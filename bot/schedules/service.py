"""Creating, reading, changing and deleting schedules: the rules both the API and chat follow.

A schedule is stored only when everything about it is right: its fields validate, it fires no
more often than ``SCHEDULE_MIN_INTERVAL_SECONDS`` (:mod:`bot.schedules.intervals`), and its
target is a conversation (or user) the bot has stored and may send to. Otherwise a
:class:`ScheduleRequestError` names the field, and nothing is written.

The target is stored as resolved: a conversation named without ``channelId`` (or ``tenantId``)
gets the one it resolved to, so its later sends cannot turn ambiguous.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from bot.auth.service_url import service_url_policy
from bot.proactive.errors import ProactiveError, UnknownConversationError
from bot.proactive.message import ConversationTarget, field_errors
from bot.proactive.targets import TargetResolver
from bot.references import ReferenceStore
from bot.schedules.documents import new_document, schedule_of, updated_document
from bot.schedules.intervals import shortest_gap_below
from bot.schedules.records import (
    READ_ONLY_FIELDS,
    TARGETS,
    Schedule,
    ScheduleFields,
    valid_schedule_id,
)
from bot.schedules.store import ScheduleExistsError, ScheduleStore
from bot.settings import get_settings

UPDATE_ATTEMPTS = 8

_FIELD_CODES = {"cron": "InvalidCron", "timeZone": "UnknownTimeZone"}


class ScheduleRequestError(Exception):
    """A request about schedules that cannot be done as asked.

    Attributes:
        status: The HTTP status (4xx).
        code: A stable machine-readable code.
        message: What is wrong, naming the field; never message text.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def not_found(schedule_id: str) -> ScheduleRequestError:
    """The error for an unknown schedule id."""
    del schedule_id  # not repeated: the caller knows which id it asked for
    return ScheduleRequestError(404, "ScheduleNotFound", "no schedule has this id")


@dataclass(frozen=True)
class ScheduleList:
    """A page of schedules.

    Attributes:
        schedules: The schedules, oldest first.
        continuation: Pass it back for the next page; ``None`` after the last.
    """

    schedules: list[Schedule]
    continuation: str | None


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _configured_min_interval() -> timedelta:
    return timedelta(seconds=get_settings().schedule_min_interval_seconds)


def _new_id() -> str:
    return uuid.uuid4().hex


class ScheduleService:
    """The schedule operations.

    Args:
        store: The schedule documents.
        references: The conversation references a schedule's target must name (the
            process's one store, from :mod:`bot.app`).
        min_interval: Returns the shortest gap allowed between occurrences.
        clock: The current time.
        new_id: Makes the id of a schedule created without one.
    """

    def __init__(
        self,
        *,
        store: ScheduleStore,
        references: ReferenceStore,
        min_interval: Callable[[], timedelta] = _configured_min_interval,
        clock: Callable[[], datetime] = _utc_now,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        self.store = store
        self._resolver = TargetResolver(references, service_url_policy)
        self._min_interval = min_interval
        self._clock = clock
        self._new_id = new_id

    async def create(self, body: Mapping[str, Any]) -> Schedule:
        """Create a schedule from a client's JSON object.

        An ``id`` (1-64 of ``A-Z a-z 0-9 _ -``) may be given, which makes a retried create
        safe: the second one is a 409.

        Raises:
            ScheduleRequestError: 400 for invalid fields, an interval that is too short or an
                unknown target; 409 for a taken id or an ambiguous conversation; 403 for a
                target the bot may not send to.
        """
        _refuse_read_only(body)
        schedule_id = body.get("id")
        if schedule_id is None:
            schedule_id = self._new_id()
        elif not isinstance(schedule_id, str) or not valid_schedule_id(schedule_id):
            raise ScheduleRequestError(
                400, "InvalidSchedule", "id: must be 1 to 64 of A-Z a-z 0-9 _ -"
            )
        fields = validate_fields({key: value for key, value in body.items() if key != "id"})
        return await self.create_fields(fields, schedule_id)

    async def create_fields(
        self, fields: ScheduleFields, schedule_id: str | None = None
    ) -> Schedule:
        """Create a schedule from validated fields (chat builds them itself).

        Raises:
            ScheduleRequestError: As :meth:`create`.
        """
        now = self._clock()
        self._check_interval(fields, now)
        fields = await self._resolve_target(fields)
        document = new_document(schedule_id or self._new_id(), fields, now)
        try:
            created = await self.store.create(document)
        except ScheduleExistsError:
            raise ScheduleRequestError(
                409, "ScheduleExists", "id: a schedule with this id exists already"
            ) from None
        return schedule_of(created)

    async def get(self, schedule_id: str) -> Schedule:
        """A schedule by id.

        Raises:
            ScheduleRequestError: 404 when there is none.
        """
        document = await self._read(schedule_id)
        return schedule_of(document)

    async def list(
        self,
        *,
        channel_id: str | None = None,
        conversation_id: str | None = None,
        user_id: str | None = None,
        page_size: int = 100,
        continuation: str | None = None,
    ) -> ScheduleList:
        """A page of schedules, oldest first, optionally of one target."""
        from azure.cosmos.exceptions import CosmosHttpResponseError

        try:
            page = await self.store.list(
                channel_id=channel_id,
                conversation_id=conversation_id,
                user_id=user_id,
                page_size=page_size,
                continuation=continuation,
            )
        except CosmosHttpResponseError as error:
            if continuation is None or error.status_code != 400:
                raise
            raise ScheduleRequestError(
                400, "InvalidQuery", "continuation: not a value this API returned"
            ) from None
        return ScheduleList(
            [schedule_of(document) for document in page.documents], page.continuation
        )

    async def list_all(
        self, *, channel_id: str, conversation_id: str, limit: int = 200
    ) -> builtins.list[Schedule]:
        """Every schedule of a conversation (up to ``limit``), oldest first, ties by id."""
        schedules: builtins.list[Schedule] = []
        continuation: str | None = None
        while len(schedules) < limit:
            page = await self.list(
                channel_id=channel_id,
                conversation_id=conversation_id,
                page_size=min(100, limit - len(schedules)),
                continuation=continuation,
            )
            schedules.extend(page.schedules)
            continuation = page.continuation
            if continuation is None:
                break
        epoch = datetime.min.replace(tzinfo=UTC)
        return sorted(schedules, key=lambda item: (item.created_at or epoch, item.id))

    async def update(self, schedule_id: str, patch: Mapping[str, Any]) -> Schedule:
        """Change a schedule with a JSON merge patch (RFC 7386) of its fields.

        A field set to ``null`` is removed (back to its default); objects merge; lists are
        replaced. A change of cron, zone, window or ``enabled`` recomputes ``nextRunAt`` from
        now.

        Raises:
            ScheduleRequestError: 404 for an unknown id; otherwise as :meth:`create`.
        """
        _refuse_read_only(patch)
        if "id" in patch and patch["id"] != schedule_id:
            raise ScheduleRequestError(400, "InvalidSchedule", "id: cannot be changed")
        body = {key: value for key, value in patch.items() if key != "id"}
        for _ in range(UPDATE_ATTEMPTS):
            document = await self._read(schedule_id)
            current = schedule_of(document)
            fields = validate_fields(merge_patch(current.fields_wire(), body))
            now = self._clock()
            if (fields.cron, fields.time_zone) != (current.cron, current.time_zone):
                self._check_interval(fields, now)
            if any(getattr(fields, name) != getattr(current, name) for name in TARGETS):
                fields = await self._resolve_target(fields)
            written = await self.store.replace(
                updated_document(document, fields, now), document["_etag"]
            )
            if written is not None:
                return schedule_of(written)
        raise ScheduleRequestError(
            409, "Conflict", "the schedule kept changing while it was updated; try again"
        )

    async def delete(self, schedule_id: str) -> None:
        """Delete a schedule; its occurrences stop.

        Raises:
            ScheduleRequestError: 404 when there is none.
        """
        if not await self.store.delete(schedule_id):
            raise not_found(schedule_id)

    async def _read(self, schedule_id: str) -> dict[str, Any]:
        document = await self.store.read(schedule_id) if valid_schedule_id(schedule_id) else None
        if document is None:
            raise not_found(schedule_id)
        return document

    def _check_interval(self, fields: ScheduleFields, now: datetime) -> None:
        minimum = self._min_interval()
        gap = shortest_gap_below(fields.expression, fields.zone, minimum, now)
        if gap is not None:
            raise ScheduleRequestError(
                400,
                "IntervalTooShort",
                f"cron: two occurrences are only {_seconds(gap)} s apart; schedules may fire "
                f"at most every {_seconds(minimum)} s (SCHEDULE_MIN_INTERVAL_SECONDS)",
            )

    async def _resolve_target(self, fields: ScheduleFields) -> ScheduleFields:
        target = fields.conversation or fields.user or fields.teams_channel
        field = next(
            (wire for name, wire in TARGETS.items() if getattr(fields, name) is not None), "user"
        )
        if target is None:  # the model's validator makes this unreachable
            raise ScheduleRequestError(400, "InvalidSchedule", "conversation/user: required")
        try:
            # Checked, not started: a user's 1:1 chat is started by the first occurrence.
            resolved = await self._resolver.check(target)
        except UnknownConversationError as error:
            raise ScheduleRequestError(400, "TargetNotFound", f"{field}: {error.message}") from None
        except ProactiveError as error:
            raise ScheduleRequestError(
                error.status, error.code, f"{field}: {error.message}"
            ) from None
        if isinstance(target, ConversationTarget) and resolved is not None:
            pinned = ConversationTarget(
                channel_id=resolved.key.channel_id,
                conversation_id=resolved.key.conversation_id,
                tenant_id=resolved.key.tenant_id,
            )
            return fields.model_copy(update={"conversation": pinned})
        return fields


def validate_fields(body: Mapping[str, Any]) -> ScheduleFields:
    """Validate a client's schedule fields.

    Raises:
        ScheduleRequestError: 400 naming every wrong field (``InvalidCron`` and
            ``UnknownTimeZone`` when that is the first one).
    """
    try:
        return ScheduleFields.model_validate(dict(body))
    except ValidationError as error:
        problems = field_errors(error)
        message = "; ".join(
            f"{problem.field}: {problem.message}" if problem.field else problem.message
            for problem in problems
        )
        first = problems[0].field.split(".")[0] if problems else ""
        raise ScheduleRequestError(
            400, _FIELD_CODES.get(first, "InvalidSchedule"), message or "invalid schedule"
        ) from None


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: ``patch`` applied to ``target``."""
    if not isinstance(patch, Mapping):
        return patch
    merged: dict[str, Any] = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def _refuse_read_only(body: Mapping[str, Any]) -> None:
    given = sorted(READ_ONLY_FIELDS.intersection(body))
    if given:
        raise ScheduleRequestError(
            400, "ReadOnlyField", f"{given[0]}: is read-only (kept by the service)"
        )


def _seconds(gap: timedelta) -> str:
    return f"{gap.total_seconds():g}"
