"""The slot of the process's one proactive service, which the composition root fills.

The service runs proactive turns with the bot application's adapter, which only
:mod:`bot.app` can build; code below it (the card update of a sample's Universal Action)
still needs the process's service. So the slot is declared here, small enough to import
anywhere, and :mod:`bot.app` provides its factory when it is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.process_client import ProcessClient

if TYPE_CHECKING:
    from bot.proactive.service import ProactiveService

SLOT = "bot.proactive.process_service.proactive_service"

proactive_service: ProcessClient[ProactiveService] = ProcessClient.slot(SLOT)
"""The process-wide service: ``proactive_service.get()`` (provided by :mod:`bot.app`)."""
