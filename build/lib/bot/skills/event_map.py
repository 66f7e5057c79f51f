"""The event map: which skills get an event, by its name (the Virtual Assistant's
``skillEvents.json``).

Several skills may subscribe to one event: each gets it, in the order listed, in a turn of its
own (one failing does not keep the others from it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class EventSubscription:
    """The skills an event goes to.

    Attributes:
        event: The event's name.
        skill_ids: Its skills, in order.
        parameters: Extra values each skill gets with it.
    """

    event: str
    skill_ids: tuple[str, ...]
    parameters: Mapping[str, str] = field(default_factory=dict)


class EventMap:
    """Events by name.

    Args:
        subscriptions: One per event name.

    Raises:
        ValueError: Two subscriptions name the same event.
    """

    def __init__(self, subscriptions: Iterable[EventSubscription] = ()) -> None:
        routes: dict[str, EventSubscription] = {}
        for subscription in subscriptions:
            if subscription.event in routes:
                raise ValueError(f"the event {subscription.event!r} is mapped twice")
            routes[subscription.event] = subscription
        self._routes = MappingProxyType(routes)

    @property
    def events(self) -> Mapping[str, EventSubscription]:
        """Every subscription, by event name."""
        return self._routes

    def route(self, event: str | None) -> EventSubscription | None:
        """The subscription of an event (names match exactly); ``None`` when unmapped."""
        if not event:
            return None
        return self._routes.get(event)
