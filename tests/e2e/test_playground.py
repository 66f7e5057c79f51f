"""The playground page in a real browser, against the whole local stack.

Headless Chromium (Debian's, driven by Playwright; ``dev/ensure_chromium.sh`` installs it)
opens the page the local channel serves, talks to the bot as a user, puts proactive messages on
the real queue from the page's form, and sees them arrive live, marked proactive, without a
reload. Once with auth on (the session stack: the channel signs every activity), once on a stack
of its own with ``BOT_AUTH_DISABLED=true`` and a channel started with ``--no-auth``. The car
scenario runs on a stack of its own started with the assistant sample and the shipped sample
calendar, as ``BOT_SAMPLE=assistant make run`` starts it.
Screenshots go to ``tests/artifacts/``; with ``UPDATE_DOC_SCREENSHOTS=1`` the car scenario's
also replaces the README's ``docs/images/playground-car-scenario.png``.

Without ``/usr/bin/chromium`` (or Playwright) the tests skip, unless
``PLAYGROUND_BROWSER_REQUIRED=1`` (``make test``) makes that a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from dev.channel import ChannelControl
from dev.stack import REPOSITORY_ROOT, LocalStack, start_stack
from tests.e2e.conftest import E2E_SETTINGS

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, ViewportSize

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGUMENTS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPOSITORY_ROOT / "tests" / "artifacts"
DOC_IMAGES = REPOSITORY_ROOT / "docs" / "images"
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
WAIT_MS = 30_000
"""Longest wait for something to show on the page (a queue send takes about a second)."""


def _require_browser() -> None:
    """Skip (or fail, when the browser is required) without Chromium or Playwright."""
    required = os.environ.get("PLAYGROUND_BROWSER_REQUIRED") == "1"
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is missing: run dev/ensure_chromium.sh"
    else:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            missing = "playwright is not installed in the virtualenv"
    if missing is None:
        return
    if required:
        pytest.fail(f"PLAYGROUND_BROWSER_REQUIRED=1 but {missing}")
    pytest.skip(f"browser test skipped: {missing}")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    _require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        launched = await driver.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGUMENTS
        )
        try:
            yield launched
        finally:
            await launched.close()


async def open_page(browser: Browser, url: str) -> Page:
    """The playground in a fresh browser context, loaded and listening for events."""
    context = await browser.new_context(viewport=VIEWPORT, timezone_id="Europe/Berlin")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(url)
    await page.wait_for_selector("body[data-loaded='true'][data-stream='live']", timeout=WAIT_MS)
    # Set once: still there at the end means the page was never reloaded.
    await page.evaluate("window.__playgroundMark = 'same page'")
    page.set_default_timeout(WAIT_MS)
    assert errors == []
    return page


async def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    await page.screenshot(path=str(path))
    return path


def bot_message(page: Page, text: str, *, proactive: bool) -> Any:
    """The bot's message with this text and proactive mark, in the open conversation's log."""
    mark = "true" if proactive else "false"
    return page.locator(
        f"#message-log .message[data-kind='bot'][data-proactive='{mark}']",
        has_text=text,
    )


async def new_user(page: Page, name: str) -> str:
    """Add a user through the page; the bot welcomes them in a new 1:1 chat. Returns its id."""
    await page.click("#new-user summary")
    await page.fill("#new-user-name", name)
    await page.click("#new-user-form button[type='submit']")
    await page.wait_for_function(
        "name => document.querySelector('#chat-title').textContent.includes(name)", arg=name
    )
    subtitle = await page.get_attribute("#chat-subtitle", "title")
    assert subtitle is not None
    return subtitle.rsplit(" · ", 1)[-1]


async def say(page: Page, text: str) -> None:
    await page.fill("#composer-text", text)
    await page.press("#composer-text", "Enter")


async def enqueue(page: Page, text: str, *, target: str = "conversation") -> str:
    """Put a message on the queue with the page's form; returns its idempotency id."""
    await page.check(f"#enqueue-form input[name='target'][value='{target}']")
    await page.fill("#enqueue-text", text)
    await page.click("#enqueue-submit")
    status = page.locator("#enqueue-status[data-state='ok']")
    await status.wait_for()
    message_id = await status.get_attribute("data-message-id")
    assert message_id
    return message_id


async def assert_not_reloaded(page: Page) -> None:
    assert await page.evaluate("window.__playgroundMark") == "same page"


async def chat_and_proactive(page: Page, name: str) -> tuple[str, str]:
    """The walk-through: a user, a welcome, an echo, a queued message arriving live.

    Returns the conversation id and the delivery id.
    """
    conversation_id = await new_user(page, name)
    await bot_message(page, "Welcome!", proactive=False).wait_for()

    await say(page, "hi")
    await bot_message(page, "You said: hi", proactive=False).wait_for()
    user_line = page.locator("#message-log .message[data-kind='user']", has_text="hi")
    assert await user_line.count() == 1

    report = f"Report {uuid.uuid4().hex[:8]} is ready"
    delivery_id = await enqueue(page, report)
    arrived = bot_message(page, report, proactive=True)
    await arrived.wait_for()
    assert await arrived.locator(".badge.proactive").inner_text() == "Proactive"
    await assert_not_reloaded(page)

    receipt = page.locator(f"#receipt-list [data-delivery-id='{delivery_id}'] .status")
    await page.wait_for_function(
        "id => document.querySelector(`[data-delivery-id='${id}'] .status`)"
        "?.textContent === 'Delivered'",
        arg=delivery_id,
    )
    assert await receipt.inner_text() == "Delivered"
    await page.locator("#reference-body .status", has_text="Active").wait_for()
    return conversation_id, delivery_id


async def try_a_schedule(page: Page) -> bool:
    """Create a schedule from the form when the bot has ``/api/schedules``; see it fire.

    Returns whether the bot has the route. The schedule is deleted again before returning.
    """
    await page.wait_for_function(
        "() => document.querySelector('#schedules-note').textContent.trim() !== ''"
    )
    if await page.locator("#schedule-create").is_hidden():
        assert "Not available" in await page.inner_text("#schedules-note")
        return False
    text = f"Stretch {uuid.uuid4().hex[:6]}"
    await page.click("#schedule-create summary")
    await page.fill("#schedule-text", text)
    # Every two seconds: the end-to-end host ticks every second and allows 1 s intervals.
    await page.fill("#schedule-cron", "*/2 * * * * *")
    await page.click("#schedule-form button[type='submit']")
    await page.locator("#schedule-status[data-state='ok']").wait_for()
    await page.locator("#schedule-list .schedule", has_text=text).wait_for()
    await bot_message(page, text, proactive=True).first.wait_for()
    await page.locator("#schedule-list .schedule", has_text=text).get_by_role("button").click()
    await page.locator("#schedule-list .schedule", has_text=text).wait_for(state="detached")
    return True


async def test_the_playground_with_auth_on(browser: Browser, e2e_stack: LocalStack) -> None:
    page = await open_page(browser, e2e_stack.channel.connector_url + "/playground/")
    assert await page.inner_text("#status-auth") == "Channel: signed tokens"
    await page.locator("#status-bot", has_text="healthy").wait_for()

    conversation_id, _ = await chat_and_proactive(page, f"Ada {uuid.uuid4().hex[:4]}")
    await try_a_schedule(page)
    await screenshot(page, "playground-auth.png")

    async with ChannelControl(e2e_stack.channel.connector_url) as control:
        requests = await control.requests(conversation_id)
    assert requests
    assert all(request["authorized"] and request["hasAuthorization"] for request in requests)


async def test_send_to_user_reaches_their_latest_chat(
    browser: Browser, e2e_stack: LocalStack
) -> None:
    page = await open_page(browser, e2e_stack.channel.connector_url + "/playground/")
    first = await new_user(page, f"Grace {uuid.uuid4().hex[:4]}")
    await bot_message(page, "Welcome!", proactive=False).wait_for()
    await page.click("#new-personal")
    await page.wait_for_function(
        "first => !document.querySelector('#chat-subtitle').title.endsWith(first)", arg=first
    )
    latest = (await page.get_attribute("#chat-subtitle", "title") or "").rsplit(" · ", 1)[-1]
    await bot_message(page, "Welcome!", proactive=False).wait_for()

    # Back to the first chat; a message "to this user" goes where the user index points.
    await page.click(f"#conversation-list [data-conversation-id='{first}']")
    text = f"For you {uuid.uuid4().hex[:6]}"
    await enqueue(page, text, target="user")
    unread = page.locator(f"#conversation-list [data-conversation-id='{latest}'] .unread")
    await unread.wait_for()
    assert await unread.inner_text() == "1"
    assert await bot_message(page, text, proactive=True).count() == 0

    await page.click(f"#conversation-list [data-conversation-id='{latest}']")
    await bot_message(page, text, proactive=True).wait_for()
    await assert_not_reloaded(page)
    await screenshot(page, "playground-send-to-user.png")


async def test_the_references_route(e2e_stack: LocalStack) -> None:
    async with ChannelControl(e2e_stack.channel.connector_url) as control:
        started = await control.start_conversation(user_name="Reference Reader")
    conversation_id = started["conversationId"]
    url = e2e_stack.host.url + "/api/references"

    async def get(**params: str) -> tuple[int, dict[str, Any]]:
        async with session.get(url, params=params) as response:
            return response.status, await response.json()

    async with aiohttp.ClientSession() as session:
        found, body = await get(channelId="msteams", conversationId=conversation_id)
        unknown, unknown_body = await get(channelId="msteams", conversationId="a:1none")
        missing, missing_body = await get(channelId="msteams")

    assert found == 200
    assert body["conversationId"] == conversation_id
    assert body["active"] is True
    assert body["reason"] is None
    assert body["reference"]["conversation"]["id"] == conversation_id
    assert "activityId" not in body["reference"]
    assert body["firstSeen"] <= body["lastSeen"]
    assert (unknown, unknown_body["error"]["code"]) == (404, "ReferenceNotFound")
    assert (missing, missing_body["error"]["code"]) == (400, "BadRequest")


@pytest.fixture(scope="module")
def no_auth_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack of its own: the channel sends no tokens, the bot asks for none."""
    _require_browser()
    stack = start_stack(
        tmp_path_factory.mktemp("no-auth-stack"),
        fresh=True,
        persist=False,
        channel_arguments=("--no-auth",),
        settings={**E2E_SETTINGS, "BOT_AUTH_DISABLED": "true"},
    )
    try:
        yield stack
    finally:
        stack.stop()


async def test_the_playground_with_auth_off(browser: Browser, no_auth_stack: LocalStack) -> None:
    page = await open_page(browser, no_auth_stack.channel.connector_url + "/playground/")
    assert await page.inner_text("#status-auth") == "Channel: no auth (BOT_AUTH_DISABLED)"

    conversation_id, _ = await chat_and_proactive(page, "Linus")
    await screenshot(page, "playground-no-auth.png")

    async with ChannelControl(no_auth_stack.channel.connector_url) as control:
        requests = await control.requests(conversation_id)
    assert requests
    assert not any(request["hasAuthorization"] for request in requests)


async def receipt_status(page: Page, delivery_id: str, status: str) -> None:
    await page.wait_for_function(
        "([id, status]) => document.querySelector(`[data-delivery-id='${id}'] .status`)"
        "?.textContent === status",
        arg=[delivery_id, status],
    )


async def enqueue_another(page: Page, text: str, *, target: str) -> str:
    """:func:`enqueue` when the form already reported a message: waits for the new one's id."""
    previous = await page.get_attribute("#enqueue-status", "data-message-id")
    await page.check(f"#enqueue-form input[name='target'][value='{target}']")
    await page.fill("#enqueue-text", text)
    await page.click("#enqueue-submit")
    await page.wait_for_function(
        "previous => {"
        " const status = document.querySelector('#enqueue-status');"
        " return status.dataset.state === 'ok' && status.dataset.messageId !== previous; }",
        arg=previous,
    )
    message_id = await page.get_attribute("#enqueue-status", "data-message-id")
    assert message_id
    assert message_id != previous
    return message_id


async def test_teams_in_the_playground_channels_names_and_the_bot_removed(
    browser: Browser, e2e_stack: LocalStack
) -> None:
    page = await open_page(browser, e2e_stack.channel.connector_url + "/playground/")
    teams_before = await page.locator("#team-list .team").count()
    await page.click("#new-team")
    team = page.locator("#team-list .team").nth(teams_before)
    await team.wait_for()
    team_id = await team.get_attribute("data-team-id")
    assert team_id
    assert await team.locator(".team-channels li").count() == 2

    async with ChannelControl(e2e_stack.channel.connector_url) as control:
        [listed] = [t for t in await control.teams() if t["id"] == team_id]
    announcements = listed["channels"][1]["id"]

    await page.select_option("#enqueue-channel", announcements)
    text = f"To the channel {uuid.uuid4().hex[:6]}"
    delivered = await enqueue(page, text, target="channel")
    await receipt_status(page, delivered, "Delivered")

    await page.fill("#enqueue-upn", listed["members"][0]["userPrincipalName"])
    by_name = await enqueue_another(page, f"By name {uuid.uuid4().hex[:6]}", target="upn")
    await receipt_status(page, by_name, "Delivered")

    await team.get_by_role("button", name="Remove bot").click()
    await page.locator(f"#team-list .team[data-team-id='{team_id}'][data-bot='false']").wait_for()
    refused = await enqueue_another(page, f"After removal {uuid.uuid4().hex[:6]}", target="channel")
    await receipt_status(page, refused, "Refused")
    await assert_not_reloaded(page)
    await screenshot(page, "playground-teams.png")

    async with ChannelControl(e2e_stack.channel.connector_url) as control:
        posted = await control.activities(announcements)
    assert [record["activity"]["text"] for record in posted] == [text]


SAMPLE_MEETING_AHEAD = 12 * 60
"""How far ahead the sample calendar (``config/calendar.sample.json``) puts 'Design review'."""
REMINDER_AFTER_SECONDS = 8
"""How soon after ``DeviceStart`` the test wants the reminder: the lead is set to the rest."""


@pytest.fixture(scope="module")
def assistant_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """``BOT_SAMPLE=assistant make run`` on free ports, with the shipped sample calendar.

    Only the reminder lead is changed (through its setting), so that the reminder of the
    meeting 12 minutes ahead is due seconds after ``DeviceStart`` instead of two minutes.
    """
    _require_browser()
    lead = SAMPLE_MEETING_AHEAD - REMINDER_AFTER_SECONDS
    stack = start_stack(
        tmp_path_factory.mktemp("assistant-stack"),
        fresh=True,
        persist=False,
        settings={
            **E2E_SETTINGS,
            "BOT_SAMPLE": "assistant",
            "CALENDAR_REMINDER_LEAD_SECONDS": str(lead),
        },
    )
    try:
        yield stack
    finally:
        stack.stop()


async def test_the_car_scenario_from_the_playground(
    browser: Browser, assistant_stack: LocalStack
) -> None:
    page = await open_page(browser, assistant_stack.channel.connector_url + "/playground/")
    assert await page.inner_text("#status-sample") == "Sample: assistant"
    await new_user(page, "Ada Lovelace")
    await bot_message(page, "Hi! I'm your assistant.", proactive=False).wait_for()

    # The event form's defaults are the car's: DeviceStart with {"location": "car"}.
    assert await page.input_value("#event-name") == "DeviceStart"
    await page.click("#event-submit")
    await page.locator("#event-status[data-state='ok']").wait_for()
    sent = page.locator("#message-log .system-note[data-event='DeviceStart']")
    assert '{"location":"car"}' in await sent.inner_text()

    answer = bot_message(page, "You have 'Design review' at", proactive=False)
    await answer.wait_for()
    assert "(in 12 minutes)" in await answer.inner_text()
    await bot_message(page, "You have '1:1 with Grace' at", proactive=False).wait_for()

    reminder = bot_message(page, "Reminder: 'Design review' starts at", proactive=True)
    await reminder.wait_for()
    assert "(in 12 minutes)" in await reminder.inner_text()
    assert await reminder.locator(".badge.proactive").inner_text() == "Proactive"
    await assert_not_reloaded(page)

    path = await screenshot(page, "playground-car-scenario.png")
    if os.environ.get("UPDATE_DOC_SCREENSHOTS") == "1":
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        (DOC_IMAGES / path.name).write_bytes(path.read_bytes())


async def test_an_event_value_that_is_not_json_is_refused_on_the_page(
    browser: Browser, assistant_stack: LocalStack
) -> None:
    page = await open_page(browser, assistant_stack.channel.connector_url + "/playground/")
    async with ChannelControl(assistant_stack.channel.connector_url) as control:
        before = len(await control.conversations())
    await page.fill("#event-name", "Custom.Event")
    await page.fill("#event-value", "{not json")
    await page.click("#event-submit")

    await page.locator("#event-status[data-state='bad']", has_text="not JSON").wait_for()
    assert await page.locator("#message-log .system-note[data-event='Custom.Event']").count() == 0
    async with ChannelControl(assistant_stack.channel.connector_url) as control:
        assert len(await control.conversations()) == before  # nothing reached the channel


async def test_a_card_button_in_the_playground_changes_the_card(
    browser: Browser, e2e_stack: LocalStack
) -> None:
    page = await open_page(browser, e2e_stack.channel.connector_url + "/playground/")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # The page's files (the renderer among them) all load; the bot routes it probes may 404.
    page.on(
        "response",
        lambda response: (
            errors.append(f"{response.status} {response.url}")
            if response.status >= 400 and "/playground/" in response.url
            else None
        ),
    )
    await new_user(page, f"Katherine {uuid.uuid4().hex[:4]}")
    await bot_message(page, "Welcome!", proactive=False).wait_for()

    await say(page, "alert")

    card = page.locator(
        "#message-log .message[data-kind='bot'] [data-renderer='adaptivecards']",
        has_text="Disk almost full",
    )
    await card.wait_for()
    # Rendered by Microsoft's renderer, not the page's fallback.
    await card.locator(".ac-adaptiveCard").wait_for()
    await card.get_by_role("button", name="Acknowledge").click()

    acknowledged = page.locator(
        "#message-log .message[data-kind='bot'] [data-renderer='adaptivecards']",
        has_text="Acknowledged by Katherine",
    )
    await acknowledged.first.wait_for()
    # The bot also updated the message for everyone: it shows as edited, without the button.
    edited = page.locator("#message-log .message", has_text="Acknowledged by Katherine")
    await edited.locator(".edited").first.wait_for()
    assert await edited.get_by_role("button", name="Acknowledge").count() == 0
    # The card's refresh lists Katherine: her client refreshes it into her own view, with Undo.
    own_view = edited.locator("[data-refreshed='true']")
    await own_view.get_by_role("button", name="Undo").wait_for()
    await assert_not_reloaded(page)
    await screenshot(page, "playground-card.png")

    activity_id = await edited.first.get_attribute("data-activity-id")
    message = page.locator(f"#message-log .message[data-activity-id='{activity_id}']")

    await own_view.get_by_role("button", name="Undo").click()

    # Everyone (this page too, through the feed's update) sees the alert unacknowledged again.
    await message.get_by_role("button", name="Acknowledge").wait_for()
    assert await message.get_by_text("Acknowledged by").count() == 0
    assert errors == []
