"""When a move is posted: the first crossing, once while it flaps, again at each further step,
both ways unless the watch says one, anew once the window has reset; and what a move is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts.model import (
    WINDOWS,
    Move,
    Watch,
    decide,
    move_from_candles,
    parse_direction,
    parse_threshold,
    parse_window,
)
from bot.errors import InputError

T0 = datetime(2025, 11, 4, 12, tzinfo=UTC)


def watch(threshold: float = 5, window: str = "24h", direction: str = "both") -> Watch:
    return Watch("w", "g", "c", "ETH", threshold, window, parse_direction(direction), "me", "")


def move(pct: float, minutes: float = 0, window: str = "24h") -> Move:
    at = T0 + timedelta(minutes=minutes)
    start = at - WINDOWS[window]
    return Move("ETH", window, start, at, 100.0, 100.0 * (1 + pct / 100), "x")


def run(w: Watch, path: list[tuple[float, float]]) -> list[tuple[float, int]]:
    """Feed (minutes, move %) samples through the rule as the watcher does; what posted."""
    last = None
    posted = []
    for minutes, pct in path:
        m = move(pct, minutes, w.window)
        level = decide(w, m, last)
        if level is not None:
            last = (m.at, m.pct, level)
            posted.append((minutes, level))
    return posted


def test_a_move_is_posted_when_it_first_crosses_the_threshold() -> None:
    assert run(watch(), [(0, -2), (1, -4.9), (2, -5.2), (3, -5.6)]) == [(2, 1)]


def test_a_price_flapping_around_the_threshold_posts_once() -> None:
    path = [(i, -5.1 if i % 2 else -4.9) for i in range(40)]

    assert run(watch(), path) == [(1, 1)]


def test_a_move_that_keeps_going_posts_again_at_each_further_step() -> None:
    path = [(0, -5.5), (5, -7), (10, -10.2), (15, -9.8), (20, -10.4), (25, -15.1)]

    assert run(watch(), path) == [(0, 1), (10, 2), (25, 3)]


def test_either_way_by_default_and_one_way_when_the_watch_says_so() -> None:
    both = [(0, -6), (60, 6)]  # down, then back up past +5% within the window: a new move

    assert run(watch(), both) == [(0, 1), (60, 1)]
    assert run(watch(direction="up"), both) == [(60, 1)]
    assert run(watch(direction="down"), both) == [(0, 1)]


def test_once_the_window_has_reset_a_crossing_is_a_new_move() -> None:
    one_hour = watch(window="1h")
    path = [(0, -6), (30, -6.5), (61, -6.2)]  # still down past 5% an hour after the post

    assert run(one_hour, path) == [(0, 1), (61, 1)]
    assert run(watch(), path) == [(0, 1)]  # within the 24h window: the same move


def test_a_window_that_reaches_back_before_the_post_is_still_the_same_move() -> None:
    """Read from candles, a window's start is the open of the candle holding it, up to a
    candle earlier: a window that still holds the move already posted must not post it again."""
    one_hour = watch(window="1h")
    posted_at = T0
    first = Move("ETH", "1h", T0 - timedelta(minutes=62), posted_at, 100.0, 94.0, "x")
    later_at = T0 + timedelta(hours=1)
    # One window on, but its candle began 2 minutes before the post: the drop is still in it.
    later = Move("ETH", "1h", posted_at - timedelta(minutes=2), later_at, 100.0, 94.0, "x")
    level = decide(one_hour, first, None)

    assert level == 1
    assert decide(one_hour, later, (posted_at, first.pct, level)) is None


def test_a_threshold_of_a_fraction_posts_at_its_multiples() -> None:
    assert run(watch(threshold=2.5), [(0, 2.4), (1, 2.5), (2, 4.9), (3, 5.0)]) == [(1, 1), (3, 2)]


def test_no_move_posts_nothing() -> None:
    assert decide(watch(), move(0), None) is None
    assert decide(watch(), move(float("nan")), None) is None


def test_the_move_is_read_from_the_candle_holding_the_windows_start_to_the_last_close() -> None:
    width = timedelta(hours=1)
    now = T0 + timedelta(minutes=30)
    candles = [(T0 - timedelta(hours=25 - i), 100.0 + i, 101.0 + i) for i in range(26)]

    found = move_from_candles(candles, "ETH", "24h", now, width, "test")

    assert found is not None
    assert found.start == T0 - timedelta(hours=24)  # the candle holding now - 24h
    assert found.start_price == 101.0 and found.price == 126.0
    assert found.pct == pytest.approx(100 * (126 / 101 - 1))


def test_candles_that_stop_short_of_now_or_of_the_windows_start_give_no_move() -> None:
    width = timedelta(hours=1)
    candles = [(T0 - timedelta(hours=25 - i), 100.0, 100.0) for i in range(26)]

    stale = move_from_candles(candles, "ETH", "24h", T0 + timedelta(hours=3), width, "t")
    short = move_from_candles(candles[5:], "ETH", "24h", T0, width, "t")

    assert stale is None and short is None


@pytest.mark.parametrize("text", ["0", "0.4", "51", "nan", "inf", "-5", "five", ""])
def test_a_threshold_outside_half_a_percent_to_fifty_is_refused(text: str) -> None:
    with pytest.raises(InputError):
        parse_threshold(text)


def test_thresholds_windows_and_directions_as_users_type_them() -> None:
    assert parse_threshold("5%") == 5 and parse_threshold(" 2.5 ") == 2.5
    assert parse_window(None) == "24h" and parse_window("4H") == "4h"
    assert parse_direction("Down") == "down" and parse_direction(None) == "both"
    for bad in ("2h", "1d", "week"):
        with pytest.raises(InputError, match="1h, 4h, 24h"):
            parse_window(bad)
    with pytest.raises(InputError):
        parse_direction("sideways")
