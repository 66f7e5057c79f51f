"""Who the queue sender tells about a message's fate, without knowing who they are.

Broadcast progress needs to hear every recipient's final outcome, and to stop a cancelled
broadcast's messages before they are sent; but broadcasts are built on this package, so this
package may not import them. The composition root (:mod:`bot.app`) hands the queue sender its
listeners instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.proactive.delivery import DeliveryOutcome


class DeliveryListener(Protocol):
    """Hears of the queue messages the sender handles, by delivery id."""

    async def withheld(self, delivery_id: str) -> bool:
        """Whether the message must not be sent (its broadcast was cancelled).

        Raises:
            azure.core.exceptions.AzureError: What decides it could not be read.
        """
        ...

    async def record_withheld(self, delivery_id: str) -> None:
        """Record that a withheld message was not sent."""
        ...

    async def record_outcome(self, delivery_id: str, outcome: DeliveryOutcome) -> None:
        """Record how a message's delivery (or edit) ended; called for every outcome."""
        ...
