"""Prompts: dialogs that ask one question and end with the answer."""

from bot.dialogs.prompts.choice import ChoicePrompt
from bot.dialogs.prompts.confirm import NO_PHRASES, YES_PHRASES, ConfirmPrompt, find_confirmation
from bot.dialogs.prompts.number import NumberPrompt, find_number
from bot.dialogs.prompts.options import PromptOptions
from bot.dialogs.prompts.prompt import Prompt, PromptAnswer, Validator, answer_text
from bot.dialogs.prompts.text import TextPrompt

__all__ = [
    "NO_PHRASES",
    "YES_PHRASES",
    "ChoicePrompt",
    "ConfirmPrompt",
    "NumberPrompt",
    "Prompt",
    "PromptAnswer",
    "PromptOptions",
    "TextPrompt",
    "Validator",
    "answer_text",
    "find_confirmation",
    "find_number",
]
