"""The values of broadcast operations: what a store read or refused, free of I/O."""

from __future__ import annotations

from dataclasses import dataclass


class OperationConflictError(Exception):
    """The operation id is already used for another broadcast."""


@dataclass(frozen=True)
class OutcomeCounts:
    """Recipients of an operation that reached a final outcome.

    Attributes:
        finished: Recipients with any final outcome.
        delivered: Recipients whose message was delivered.
        failures: Failed recipients by error code (or outcome, when it had no code).
    """

    finished: int
    delivered: int
    failures: dict[str, int]

    @property
    def failed(self) -> int:
        """Recipients whose message was not (certainly) delivered."""
        return self.finished - self.delivered
