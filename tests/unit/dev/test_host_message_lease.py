"""The local host's queue message lease setting: the flag, the variable, the default."""

from __future__ import annotations

import pytest

from dev.host.errors import HostError
from dev.host.message_lease import (
    DEFAULT_LEASE_SECONDS,
    LEASE_VARIABLE,
    MAX_LEASE_SECONDS,
    lease_from_environment,
    parse_lease_seconds,
)


def test_the_functions_host_lease_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LEASE_VARIABLE, raising=False)
    assert lease_from_environment() == DEFAULT_LEASE_SECONDS == 600


def test_the_variable_sets_the_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LEASE_VARIABLE, " 5 ")
    assert lease_from_environment() == 5


@pytest.mark.parametrize("raw", ["0", "-1", "1.5", "ten", str(MAX_LEASE_SECONDS + 1)])
def test_a_lease_that_a_queue_cannot_take_is_refused_naming_its_source(raw: str) -> None:
    with pytest.raises(HostError, match="--queue-lease-seconds"):
        parse_lease_seconds(raw, "--queue-lease-seconds")


def test_a_bad_variable_is_refused_not_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LEASE_VARIABLE, "soon")
    with pytest.raises(HostError, match=LEASE_VARIABLE):
        lease_from_environment()


def test_the_bounds_are_accepted() -> None:
    assert parse_lease_seconds("1", "flag") == 1
    assert parse_lease_seconds(str(MAX_LEASE_SECONDS), "flag") == MAX_LEASE_SECONDS
