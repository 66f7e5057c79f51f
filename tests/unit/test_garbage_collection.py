"""The collector's settings for a sending worker (bot/garbage_collection.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from bot.garbage_collection import YOUNG_THRESHOLD, tune_for_sending


@pytest.fixture
def collector_restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("collector_restored")
def test_raises_the_young_threshold_and_keeps_the_older_ones() -> None:
    gc.set_threshold(700, 10, 10)

    tune_for_sending()

    assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)


@pytest.mark.usefixtures("collector_restored")
def test_never_lowers_a_higher_threshold() -> None:
    gc.set_threshold(YOUNG_THRESHOLD * 2, 10, 10)

    tune_for_sending()

    assert gc.get_threshold()[0] == YOUNG_THRESHOLD * 2


@pytest.mark.usefixtures("collector_restored")
def test_freezes_what_start_up_built_and_still_collects_cycles() -> None:
    gc.unfreeze()
    kept = [object()]

    tune_for_sending()

    assert gc.get_freeze_count() > 0
    assert not any(item is kept for item in gc.get_objects())

    class Node:
        partner: object = None

    first, second = Node(), Node()
    first.partner, second.partner = second, first
    del first, second
    assert gc.collect() >= 2
