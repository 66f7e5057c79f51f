"""What can go wrong with bot state, as typed errors a turn's error handler can tell apart."""

from __future__ import annotations


class StateError(Exception):
    """Base of the bot state errors."""


class StateConflictError(StateError):
    """Another turn wrote the scope after this turn read it (Cosmos DB 412, or 409 on create).

    The turn's changes to the scope are not saved. The turn is not retried: its replies have
    already gone out, and running it again would send them twice. The adapter's error handler
    apologises, and the user's next message runs against the state the other turn saved.

    Attributes:
        scope: The scope that was not saved (``user``, ``conversation``, ...).
        document_id: The scope's storage id (an HMAC, no raw id in it).
    """

    def __init__(self, scope: str, document_id: str) -> None:
        super().__init__(
            f"the {scope} state was changed by another turn since this turn read it; "
            "this turn's changes to it were not saved"
        )
        self.scope = scope
        self.document_id = document_id


class StateScopeUnavailableError(StateError):
    """The turn's activity lacks what a scope is keyed on (a user id, a conversation id).

    For example a proactive turn whose conversation reference has no ``user``: there is no
    user state to read.
    """


class StateValueError(StateError):
    """A stored property does not fit the type it is declared with.

    Raised on first access, naming the scope and the property (never the value, which may be
    personal data). Declaring a new type for an existing name needs a new name or a migration.
    """
