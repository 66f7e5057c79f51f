"""The capture middleware: which turns capture or retire; failures never break a turn."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.references.capture import CAPTURE_OUTCOME, ReferenceCapture
from bot.references.records import CaptureOutcome, InactiveReason, StoredReference
from bot.references.store import ReferenceStore, ReferenceTarget
from bot.schema import Activity, ConversationReference
from bot.turn import BotAdapter, ClaimsIdentity, InMemorySender, TurnContext

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
CONVERSATION_ID = "a:secret-conversation-id"


from bot.references.teams import TeamsPlace  # noqa: E402


class RecordingStore(ReferenceStore):
    """Records what the middleware asks of the store; optionally fails or hangs."""

    def __init__(self, failure: BaseException | None = None, hang: bool = False) -> None:
        super().__init__()
        self.captured: list[tuple[ConversationReference, dict[str, Any], datetime]] = []
        self.retired: list[tuple[ReferenceTarget, str, datetime]] = []
        self._failure = failure
        self._hang = hang

    async def capture(
        self,
        reference: ConversationReference,
        claims: Mapping[str, object] | None = None,
        *,
        now: datetime,
        place: TeamsPlace | None = None,
    ) -> CaptureOutcome:
        del place
        await self._misbehave()
        self.captured.append((reference, dict(claims or {}), now))
        return CaptureOutcome.CREATED

    async def mark_inactive(
        self, target: ReferenceTarget, reason: str, *, now: datetime
    ) -> StoredReference | None:
        await self._misbehave()
        self.retired.append((target, reason, now))
        return None

    async def _misbehave(self) -> None:
        if self._hang:
            await asyncio.Event().wait()
        if self._failure is not None:
            raise self._failure


def activity(**overrides: Any) -> Activity:
    fields: dict[str, Any] = {
        "type": "message",
        "id": "incoming-1",
        "channelId": "msteams",
        "serviceUrl": "https://smba.trafficmanager.net/emea/",
        "from": {"id": "29:user"},
        "recipient": {"id": "28:bot"},
        "conversation": {"id": CONVERSATION_ID, "tenantId": "tenant-1"},
        "text": "hello",
    }
    fields.update(overrides)
    return Activity.model_validate(fields)


async def run_turn(store: ReferenceStore, incoming: Activity, **options: Any) -> list[TurnContext]:
    handled: list[TurnContext] = []
    adapter = BotAdapter(InMemorySender(), on_turn_error=None)
    adapter.use(ReferenceCapture(store, clock=lambda: T0, **options))

    async def logic(context: TurnContext) -> None:
        handled.append(context)

    identity = ClaimsIdentity({"aud": "app", "serviceurl": "x"}, is_authenticated=True)
    await adapter.process_activity(incoming, identity, logic)
    return handled


async def test_a_message_is_captured_before_the_handler_runs() -> None:
    store = RecordingStore()

    handled = await run_turn(store, activity())

    assert len(store.captured) == 1
    reference, claims, now = store.captured[0]
    assert reference.conversation is not None
    assert reference.conversation.id == CONVERSATION_ID
    assert reference.service_url == "https://smba.trafficmanager.net/emea/"
    assert claims["aud"] == "app"
    assert now == T0
    assert len(handled) == 1
    assert handled[0].state.get(CAPTURE_OUTCOME) is CaptureOutcome.CREATED


@pytest.mark.parametrize("action", ["remove", "remove-upgrade"])
async def test_an_uninstall_retires_the_reference(action: str) -> None:
    store = RecordingStore()

    handled = await run_turn(store, activity(type="installationUpdate", action=action))

    assert store.captured == []
    assert [(reason, now) for _, reason, now in store.retired] == [("Uninstalled", T0)]
    assert handled[0].state.get(CAPTURE_OUTCOME) is InactiveReason.UNINSTALLED


async def test_an_install_captures() -> None:
    store = RecordingStore()

    await run_turn(store, activity(type="installationUpdate", action="add"))

    assert len(store.captured) == 1


async def test_the_bot_removed_from_the_conversation_retires_the_reference() -> None:
    store = RecordingStore()

    await run_turn(store, activity(type="conversationUpdate", membersRemoved=[{"id": "28:bot"}]))

    assert [reason for _, reason, _ in store.retired] == ["BotRemoved"]


async def test_another_member_removed_is_just_a_turn() -> None:
    store = RecordingStore()

    await run_turn(
        store, activity(type="conversationUpdate", membersRemoved=[{"id": "29:someone"}])
    )

    assert store.retired == []
    assert len(store.captured) == 1


@pytest.mark.parametrize(
    "incoming",
    [
        activity(type="event", name="ContinueConversation"),
        activity(serviceUrl=None),
        activity(conversation=None),
        activity(channelId=None),
    ],
    ids=["proactive-turn", "no-service-url", "no-conversation", "no-channel"],
)
async def test_turns_that_name_no_conversation_are_not_captured(incoming: Activity) -> None:
    store = RecordingStore()

    handled = await run_turn(store, incoming)

    assert (store.captured, store.retired) == ([], [])
    assert len(handled) == 1
    assert CAPTURE_OUTCOME not in handled[0].state


async def test_a_failing_store_never_breaks_the_turn_nor_logs_ids(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = RecordingStore(failure=RuntimeError(f"boom {CONVERSATION_ID}"))

    with caplog.at_level(logging.WARNING, logger="bot.references.capture"):
        handled = await run_turn(store, activity())

    assert len(handled) == 1
    assert CAPTURE_OUTCOME not in handled[0].state
    assert "capture failed: RuntimeError" in caplog.text
    assert CONVERSATION_ID not in caplog.text


async def test_a_hanging_store_is_given_up_on() -> None:
    store = RecordingStore(hang=True)

    handled = await run_turn(store, activity(), timeout_seconds=0.01)

    assert len(handled) == 1
