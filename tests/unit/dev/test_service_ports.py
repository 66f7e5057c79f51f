"""A port is "in use" only while something listens on it, not while it sits in TIME_WAIT."""

from __future__ import annotations

import socket

from dev.services.ports import HOST, port_in_use


def test_a_listening_port_is_in_use() -> None:
    with socket.socket() as server:
        server.bind((HOST, 0))
        server.listen()
        assert port_in_use(server.getsockname()[1])


def test_a_port_in_time_wait_after_its_server_stopped_is_free() -> None:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((HOST, 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection((HOST, port))
    accepted, _ = server.accept()
    # The server side closes first, as a stopped service does: its end goes to TIME_WAIT.
    accepted.close()
    server.close()
    client.close()

    assert not port_in_use(port)
