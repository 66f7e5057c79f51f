"""How the calendar skill says times: in the user's zone, relative to now."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo


def clock_time(moment: datetime, zone: tzinfo) -> str:
    """``10:00``: the local time of day."""
    return f"{moment.astimezone(zone):%H:%M}"


def time_until(delta: timedelta) -> str:
    """``in 12 minutes``, ``in 1 hour``, ``in 3 days``; to the nearest unit."""
    seconds = delta.total_seconds()
    if seconds < 60:
        return "in less than a minute"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"in {_count(minutes, 'minute')}"
    hours = round(seconds / 3600)
    if hours < 24:
        return f"in {_count(hours, 'hour')}"
    return f"in {_count(round(seconds / 86400), 'day')}"


def day_and_time(moment: datetime, now: datetime, zone: tzinfo) -> str:
    """``today at 10:00``, ``tomorrow at 09:30`` or ``on Tue 24 Nov at 10:00``."""
    local = moment.astimezone(zone)
    days = (local.date() - now.astimezone(zone).date()).days
    if days == 0:
        day = "today"
    elif days == 1:
        day = "tomorrow"
    else:
        day = f"on {local:%a} {local.day} {local:%b}"
    return f"{day} at {local:%H:%M}"


def window_text(window: timedelta) -> str:
    """``the next hour``, ``the next 90 minutes``."""
    minutes = round(window.total_seconds() / 60)
    if minutes == 60:
        return "the next hour"
    if minutes % 60 == 0:
        return f"the next {minutes // 60} hours"
    return f"the next {_count(minutes, 'minute')}"


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}" if number == 1 else f"{number} {unit}s"
