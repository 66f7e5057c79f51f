"""The one error the local host stops on at start-up."""


class HostError(Exception):
    """The app cannot be hosted as configured; the message says what to fix.

    ``python -m dev.host`` prints it and exits with status 1, before serving anything.
    """
