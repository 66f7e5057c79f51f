"""The pure parts of send logs: what a conversation's shared log lets one more send do, and
what an instance writes back into it."""

from __future__ import annotations

import pytest

from bot.channel_limits import Window
from bot.throttling.send_logs import Send, SendLog, SendLogs

WINDOWS = (Window(7, 1), Window(8, 2), Window(60, 30), Window(1800, 3600))


def log() -> SendLog:
    found = SendLogs(instance_id="me").log("scope", ("msteams", "t", "a:1"), WINDOWS)
    assert found is not None
    return found


def test_the_hour_window_is_not_shared() -> None:
    assert [window.seconds for window in log().windows] == [1, 2, 30]
    assert SendLogs().log("s", ("c",), (Window(100, 3600),)) is None


def test_other_instances_sends_count_until_they_may_have_arrived() -> None:
    shared = log()
    # Seven sends of another instance granted at 100.0, not yet answered: they may reach the
    # channel up to the guard (1 s) later, so the 1 s window has room only after 102.0.
    shared.others = [("other", 100.0, 101.0)] * 7
    assert shared.earliest(100.5, 0.0) == pytest.approx(102.0)
    assert shared.earliest(102.0, 0.0) == pytest.approx(102.0)


def test_this_instances_sends_count_exactly() -> None:
    shared = log()
    shared.mine = [Send(100.0, answered=100.1) for _ in range(7)]
    assert shared.earliest(100.2, 0.0) == pytest.approx(101.1)


def test_sends_in_flight_that_fill_a_window_leave_only_their_answers_to_wait_for() -> None:
    shared = log()
    shared.mine = [Send(100.0) for _ in range(7)]
    assert shared.earliest(100.0, 0.0) is None


def test_two_instances_share_the_thirty_second_window() -> None:
    shared = log()
    shared.others = [("other", 100.0 + n / 10, 100.05 + n / 10) for n in range(30)]
    shared.mine = [Send(110.0 + n / 10, answered=110.01 + n / 10) for n in range(30)]
    ready = shared.earliest(120.0, 0.0)
    assert ready == pytest.approx(100.05 + 30)  # the oldest of the 60 leaves the window


def test_what_an_instance_writes_keeps_the_others_and_its_own_answers() -> None:
    logs = SendLogs(instance_id="me", guard=1.0)
    shared = log()
    shared.others = [("other", 100.0, 101.0)]
    shared.mine = [Send(100.2, answered=100.4567), Send(100.5)]
    assert shared.entries("me", logs.guard) == [
        ["other", 100.0, 101.0],
        ["me", 100.2, 100.457],
        ["me", 100.5, 101.5],
    ]


def test_reading_a_log_ignores_this_instances_own_entries() -> None:
    logs = SendLogs(instance_id="me")
    shared = log()
    logs._adopt(
        shared,
        {"_etag": "e1", "sends": [["me", 1.0, 2.0], ["other", 3.0, 4.0], "junk", ["x", "y", 1]]},
    )
    assert (shared.exists, shared.etag, shared.others) == (True, "e1", [("other", 3.0, 4.0)])


def test_old_sends_are_forgotten() -> None:
    shared = log()
    shared.others = [("other", 1.0, 2.0)]
    shared.mine = [Send(1.0, answered=2.0)]
    assert not shared.idle(20.0)
    assert shared.idle(40.0)
