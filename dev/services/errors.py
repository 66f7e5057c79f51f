"""The one error the local services raise."""

from __future__ import annotations


class ServicesError(Exception):
    """A local service could not be started, provisioned or stopped.

    The message says what to do (which variable to change, which log to read).
    """
