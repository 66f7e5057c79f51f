"""The slot of the process's one schedule service, which the composition root fills.

A chat's reminder commands (:mod:`bot.schedules.chat`, run by the assistant sample) need the
process's service below the composition root; the slot is declared here, small enough to
import anywhere, and :mod:`bot.app` provides its factory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.process_client import ProcessClient

if TYPE_CHECKING:
    from bot.schedules.service import ScheduleService

SLOT = "bot.schedules.process_service.schedule_service"

schedule_service: ProcessClient[ScheduleService] = ProcessClient.slot(SLOT)
"""The process-wide service: ``schedule_service.get()`` (provided by :mod:`bot.app`)."""
