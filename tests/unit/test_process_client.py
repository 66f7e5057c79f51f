"""ProcessClient: one object per event loop, and per settings object when keyed."""

from __future__ import annotations

import asyncio

import pytest

from bot.process_client import ProcessClient


class Settings:
    """Stands for a settings object: compared by identity."""


async def test_the_same_client_is_reused_on_a_loop() -> None:
    made: list[object] = []

    def make() -> object:
        made.append(object())
        return made[-1]

    client: ProcessClient[object] = ProcessClient(make)

    assert client.get() is client.get()
    assert len(made) == 1


def test_a_new_loop_gets_a_new_client() -> None:
    client: ProcessClient[object] = ProcessClient(object)

    async def get() -> object:
        return client.get()

    assert asyncio.run(get()) is not asyncio.run(get())


def test_a_keyed_client_is_rebuilt_when_the_settings_change() -> None:
    current = [Settings()]
    client: ProcessClient[object] = ProcessClient(object, key=lambda: current[0], per_loop=False)

    first = client.get()
    assert client.get() is first
    current[0] = Settings()
    assert client.get() is not first


def test_a_plain_object_needs_no_running_loop() -> None:
    client: ProcessClient[object] = ProcessClient(object, per_loop=False)

    assert client.get() is client.get()


def test_an_async_client_needs_a_running_loop() -> None:
    client: ProcessClient[object] = ProcessClient(object)

    with pytest.raises(RuntimeError):
        client.get()


async def test_aclose_closes_and_forgets_the_client() -> None:
    closed: list[object] = []

    async def close(value: object) -> None:
        closed.append(value)

    client: ProcessClient[object] = ProcessClient(object, close)
    first = client.get()
    await client.aclose()

    assert closed == [first]
    assert client.get() is not first
