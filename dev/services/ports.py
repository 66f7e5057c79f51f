"""The ports the local services listen on: configured through the environment, or free ones."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass

from dev.services.errors import ServicesError

HOST = "127.0.0.1"
"""Every service listens on loopback only."""

PORT_VARIABLES: dict[str, str] = {
    "blob": "AZURITE_BLOB_PORT",
    "queue": "AZURITE_QUEUE_PORT",
    "table": "AZURITE_TABLE_PORT",
    "cosmos": "COSMOS_EMULATOR_PORT",
}
"""The environment variable that fixes each service's port."""


@dataclass(frozen=True)
class ServicePorts:
    """The four ports of the local stack.

    ``configured`` names the services whose port came from the environment; the others were
    picked free and may be picked again when a start loses a race for them.
    """

    blob: int
    queue: int
    table: int
    cosmos: int
    configured: frozenset[str] = frozenset()


def port_in_use(port: int) -> bool:
    """Whether something listens on ``127.0.0.1:port`` (a listener of ours could not bind).

    Binds with ``SO_REUSEADDR``, as the services' own listeners do: connections left in
    TIME_WAIT by a service stopped a moment ago (``make run`` right after Ctrl-C) do not make
    the port busy; only a live listener or another exclusive bind does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return True
    return False


def _free_ports(count: int) -> list[int]:
    # All sockets stay bound until every port is chosen, so the ports differ from each other.
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for held in sockets:
            held.bind((HOST, 0))
        return [held.getsockname()[1] for held in sockets]
    finally:
        for held in sockets:
            held.close()


def _configured_port(environ: Mapping[str, str], variable: str) -> int | None:
    raw = environ.get(variable, "").strip()
    if not raw:
        return None
    try:
        port = int(raw)
    except ValueError:
        raise ServicesError(f"{variable}={raw!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise ServicesError(f"{variable}={port} is not a port number (1-65535)")
    if port_in_use(port):
        raise ServicesError(
            f"{variable}={port}: port {port} on {HOST} is already in use; stop what uses it "
            f"(make stop), or pick another port: {variable}=<port> make ... (unset it to "
            "pick a free port when running python -m dev.services directly)"
        )
    return port


def choose_ports(environ: Mapping[str, str]) -> ServicePorts:
    """The configured ports where the environment sets them, free ports elsewhere.

    Raises:
        ServicesError: a configured port is not a number, is already in use or is given to two
            services; the message names the variable.
    """
    chosen = {
        name: _configured_port(environ, variable) for name, variable in PORT_VARIABLES.items()
    }
    configured = frozenset(name for name, port in chosen.items() if port is not None)
    seen: dict[int, str] = {}
    for name, port in chosen.items():
        if port is None:
            continue
        variable = PORT_VARIABLES[name]
        if port in seen:
            raise ServicesError(f"{seen[port]} and {variable} are both {port}; give each its own")
        seen[port] = variable
    taken = {port for port in chosen.values() if port is not None}
    free = iter(port for port in _free_ports(len(chosen) + len(taken)) if port not in taken)
    ports = {name: port if port is not None else next(free) for name, port in chosen.items()}
    return ServicePorts(configured=configured, **ports)
