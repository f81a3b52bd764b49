"""The per-user and per-server budgets, on a clock the test moves: what a user who asks too
fast, or a busy server, is told, and when they may ask again."""

from __future__ import annotations

import pytest

from bot.exts.limits import Limited, Limits, Rate


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_fourth_question_in_30_s_waits_for_the_oldest_to_leave_the_window(clock: Clock) -> None:
    limits = Limits(clock=clock)
    for _ in range(3):
        limits.take("ask", 1, 10)
        clock.now += 5

    with pytest.raises(Limited) as refused:
        limits.take("ask", 1, 10)

    assert not refused.value.server
    assert refused.value.retry_after == pytest.approx(15.0)
    assert refused.value.message() == "Slow down a little: try again in 15 s."
    clock.now += 15
    limits.take("ask", 1, 10)  # the first question has left the window


def test_a_refused_question_is_not_counted(clock: Clock) -> None:
    limits = Limits({"ask": (Rate(1, 10.0), Rate(100, 10.0))}, clock=clock)
    limits.take("ask", 1, None)
    for _ in range(5):
        clock.now += 1
        with pytest.raises(Limited):
            limits.take("ask", 1, None)

    clock.now += 5  # ten seconds after the one counted question
    limits.take("ask", 1, None)


def test_a_busy_server_is_limited_as_a_whole_and_other_servers_are_not(clock: Clock) -> None:
    limits = Limits({"ask": (Rate(3, 30.0), Rate(4, 60.0))}, clock=clock)
    for user in range(4):
        limits.take("ask", user, 10)

    with pytest.raises(Limited) as refused:
        limits.take("ask", 99, 10)  # a user who has not asked yet

    assert refused.value.server
    assert refused.value.message() == "This server is asking a lot right now: try again in 60 s."
    limits.take("ask", 99, 11)  # another server
    limits.take("ask", 99, None)  # a DM is its own place


def test_each_kind_of_work_has_its_own_budget(clock: Clock) -> None:
    limits = Limits(clock=clock)
    for _ in range(3):
        limits.take("ask", 1, 10)

    limits.take("chart", 1, 10)
    limits.take("chart", 1, 10)
    with pytest.raises(Limited):
        limits.take("chart", 1, 10)  # two renders per 30 s
    limits.take("price", 1, 10)


def test_a_notice_is_sent_once_a_minute_at_most(clock: Clock) -> None:
    limits = Limits(clock=clock)

    assert limits.once("limited", 1)
    clock.now += 59
    assert not limits.once("limited", 1)
    assert limits.once("limited", 2)  # another user
    assert limits.once("hint", 1)  # another notice
    clock.now += 1
    assert limits.once("limited", 1)


def test_a_flood_of_users_keeps_the_windows_bounded(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.exts.limits.MAX_KEYS", 100)
    limits = Limits(clock=clock)
    for user in range(1000):
        clock.now += 0.01
        limits.take("price", user, None)

    assert len(limits.windows._hits) <= 100
    limits.take("price", 999, None)  # the newest are kept: still counted
    assert len(limits.windows._hits[("price", "user", 999)]) == 2
