"""The composition root fills every slot declared below it, by the slot's own name."""

from __future__ import annotations

import bot.app
from bot.throttling import governor


def test_the_root_names_the_governor_slot_as_the_governor_declares_it() -> None:
    assert bot.app.GOVERNOR_SLOT == governor.SLOT
