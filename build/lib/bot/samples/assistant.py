"""The assistant: a bot made of skills, plugged in by configuration (``BOT_SAMPLE=assistant``).

The Virtual Assistant in Python: it welcomes the user, routes each message to a skill by the
dispatch rules of the skills file, keeps that skill active until it ends, routes events to the
skills the event map names, and answers what no skill takes itself::

    user: what's next on my calendar?
    bot:  Next on your calendar: 'Design review' today at 10:00 (in 12 minutes).
    user: set a reminder
    bot:  What should I remind you about?          (the reminders skill is active)
    user: help
    bot:  I can help with: ...                     (a top-level interruption)
    bot:  What should I remind you about?          (the skill asks again)
    user: cancel
    bot:  Do you want to cancel what we are doing?
    user: yes
    bot:  Cancelled.
    event: DeviceStart                              (calendar and briefing both get it)
    bot:  You have 'Design review' at 10:00 (in 12 minutes).
    bot:  Good morning, Ada! It's Monday 23 November, 09:48 (UTC).
    ... ten minutes before the meeting, a proactive reminder from the queue.

The skills and the event map are ``SKILLS_CONFIG_PATH`` and ``EVENTS_CONFIG_PATH``; a wrong
file fails when the assistant is built (:func:`bot.samples.catalog.validate_sample` does it at
start-up). Needs :class:`~bot.state.BotStateMiddleware` on the adapter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bot.dialogs import (
    CANCEL_WORDS,
    CancelInterruption,
    Dialog,
    DialogContext,
    DialogManager,
    DialogTurnResult,
)
from bot.dialogs.prompts import answer_text
from bot.dialogs.words import normalized
from bot.samples.skills.settings import AssistantSettings, load_assistant_settings
from bot.schema import ActivityTypes, ChannelAccount
from bot.skills import Skill, SkillSet, load_skill_catalog, remember_user_context, skill_dialog_id
from bot.turn import ActivityHandler, TurnContext

WELCOME_TEXT = "Hi! I'm your assistant."
HELP_WORDS: tuple[str, ...] = ("help", "what can you do", "what can i say", "menu", "commands")
"""What asks for help: the whole message, case and punctuation ignored."""
HELP_FOOTER = 'Say "cancel" to stop what we are doing, or "help" at any time.'
FALLBACK_TEXT = 'I don\'t know how to help with "{text}" yet. Say "help" to see what I can do.'
NOTHING_TO_CANCEL_TEXT = "There is nothing to cancel."
NO_TEXT_REPLY = "I can only read text messages."

ROUTER_DIALOG_ID = "assistant"
HELP_DIALOG_ID = "assistant.help"
_HELP = frozenset(normalized(word) for word in HELP_WORDS)
_CANCEL = frozenset(normalized(word) for word in CANCEL_WORDS)


def help_text(skills: Iterable[Skill]) -> str:
    """What the assistant can do: each skill's name, description and first example."""
    lines = ["I can help with:"]
    for skill in skills:
        manifest = skill.manifest
        line = f"- {manifest.name}"
        if manifest.description:
            line += f": {manifest.description}"
        if manifest.examples:
            line += f' (try "{manifest.examples[0]}")'
        lines.append(line)
    lines.append(HELP_FOOTER)
    return "\n".join(lines)


def is_help(text: str | None) -> bool:
    """Whether a message asks for help."""
    return normalized(text) in _HELP


class _HelpDialog(Dialog):
    """Says the help and ends: begun as an interruption, the skill below then asks again."""

    def __init__(self, text: str) -> None:
        super().__init__(HELP_DIALOG_ID)
        self._text = text

    async def begin_dialog(self, dc: DialogContext, options: Any = None) -> DialogTurnResult:
        del options
        await dc.send(self._text)
        return await dc.end_dialog()


class HelpInterruption:
    """While a skill is active, "help" says what the assistant can do; the skill asks again.

    Args:
        text: The help.
    """

    def __init__(self, text: str) -> None:
        self._dialogs: tuple[Dialog, ...] = (_HelpDialog(text),)

    @property
    def dialogs(self) -> Sequence[Dialog]:
        """The dialog that says the help."""
        return self._dialogs

    async def interrupt(self, dc: DialogContext) -> DialogTurnResult | None:
        """Begin the help on top of the active dialog when the message asks for it."""
        if dc.context.activity.type != ActivityTypes.MESSAGE or not dc.stack:
            return None
        if not is_help(answer_text(dc.context)):
            return None
        return await dc.begin_dialog(HELP_DIALOG_ID, interruption=True)


class _Router(Dialog):
    """The assistant's main dialog: a message no skill is active for is dispatched here."""

    def __init__(self, skills: SkillSet, help_message: str) -> None:
        super().__init__(ROUTER_DIALOG_ID)
        self._skills = skills
        self._help = help_message

    async def begin_dialog(self, dc: DialogContext, options: Any = None) -> DialogTurnResult:
        del options
        if dc.context.activity.type != ActivityTypes.MESSAGE:
            return await dc.end_dialog()
        text = answer_text(dc.context)
        match = self._skills.dispatcher.dispatch(text)
        if match is not None:
            # In the router's place: the skill is the bottom of the stack while it is active.
            return await dc.replace_dialog(skill_dialog_id(match.skill_id))
        if not text:
            await dc.send(NO_TEXT_REPLY)
        elif is_help(text):
            await dc.send(self._help)
        elif normalized(text) in _CANCEL:
            await dc.send(NOTHING_TO_CANCEL_TEXT)
        else:
            await dc.send(FALLBACK_TEXT.format(text=text))
        return await dc.end_dialog()


class Assistant(ActivityHandler):
    """Welcomes, dispatches to skills, routes events, and falls back to a friendly answer.

    Args:
        skills: The skills; loaded from the configuration files of the settings when omitted.
        settings: The settings to load them with; read when omitted.

    Raises:
        SkillConfigError: A configuration file is wrong (file, entry and reason are named).
        SettingsError: A setting is invalid.
    """

    def __init__(
        self, skills: SkillSet | None = None, *, settings: AssistantSettings | None = None
    ) -> None:
        if skills is None:
            settings = settings or load_assistant_settings()
            catalog = load_skill_catalog(settings.skills_path, settings.events_path)
            skills = SkillSet.from_catalog(catalog, default_timezone=settings.default_timezone)
        self.skills = skills
        self.help = help_text(skills.skills)
        self.dialogs = DialogManager(
            _Router(skills, self.help),
            dialogs=skills.dialogs.values(),
            interruptions=[CancelInterruption(), HelpInterruption(self.help), skills.switch()],
        )

    async def on_members_added(self, context: TurnContext, members: list[ChannelAccount]) -> None:
        """Welcome once, however many members joined, with what the assistant can do."""
        del members
        await context.send_activity(f"{WELCOME_TEXT}\n{self.help}")

    async def on_message_activity(self, context: TurnContext) -> None:
        """The active skill, an interruption, a skill to dispatch to, or the fallback."""
        await remember_user_context(context)
        await self.dialogs.run(context)

    async def on_event_activity(self, context: TurnContext) -> None:
        """Events of the event map go to their skills; others to the active skill, if any."""
        await remember_user_context(context)
        dc = await self.dialogs.create_context(context)
        if await self.skills.deliver_event(dc):
            return
        if dc.stack:
            await self.dialogs.run(context)

    async def on_end_of_conversation_activity(self, context: TurnContext) -> None:
        """The user left: whatever was active is torn down."""
        dc = await self.dialogs.create_context(context)
        await dc.cancel_all_dialogs()
