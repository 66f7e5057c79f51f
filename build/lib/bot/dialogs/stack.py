"""Where the dialog stack is kept: a property of conversation state."""

from __future__ import annotations

from bot.dialogs.dialog import DialogInstance
from bot.state import StateProperty, conversation_property

DialogStack = list[DialogInstance]
"""The active dialogs, bottom first."""

DIALOG_STACK: StateProperty[DialogStack] = conversation_property(
    "dialogStack", list[DialogInstance], default_factory=list
)
"""The default home of the stack: conversation state, shared by the conversation's members.
Use a private conversation property instead to give each member of a group chat their own."""
