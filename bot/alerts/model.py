"""Watches, moves, and the rule for when a move is posted (pure functions, no I/O)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.errors import InputError

Direction = Literal["both", "up", "down"]
DIRECTIONS: tuple[Direction, ...] = ("both", "up", "down")
WINDOWS = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "24h": timedelta(hours=24)}
# Live, each window is measured on candles of this width (ccxt timeframes): 13, 17 or 25 rows.
CANDLES = {"1h": "5m", "4h": "15m", "24h": "1h"}
CANDLE_WIDTH = {"5m": timedelta(minutes=5), "15m": timedelta(minutes=15), "1h": timedelta(hours=1)}
MIN_THRESHOLD, MAX_THRESHOLD = 0.5, 50.0


@dataclass(frozen=True)
class Watch:
    """A channel's watch on an asset: post when it moves `threshold`% within `window`."""

    id: str
    place: str  # the server (its id), or "console"
    channel: str
    asset: str
    threshold: float
    window: str
    direction: Direction
    added_by: str
    added_at: str  # ISO time
    disabled: str | None = None  # why it stopped, when it did

    def describe(self) -> str:
        way = {"both": "either way", "up": "up", "down": "down"}[self.direction]
        return f"{self.asset} {plain_pct(self.threshold)}% {way} within {self.window}"


@dataclass(frozen=True)
class Move:
    """An asset's move over a window: from `start_price` at `start` to `price` at `at`."""

    asset: str
    window: str
    start: datetime
    at: datetime
    start_price: float
    price: float
    source: str

    @property
    def pct(self) -> float:
        return (self.price / self.start_price - 1) * 100

    def sentence(self) -> str:
        verb = "rose" if self.pct > 0 else "fell"
        return f"{self.asset} {verb} {abs(self.pct):.1f}% in {self.window}"


def plain_pct(value: float) -> str:
    return f"{value:g}"


def parse_window(text: str | None) -> str:
    window = (text or "24h").strip().lower()
    if window not in WINDOWS:
        raise InputError(f"The window is one of {', '.join(WINDOWS)} (not {text!r:.20}).")
    return window


def parse_threshold(text: str | float) -> float:
    try:
        value = float(str(text).strip().rstrip("%"))
    except ValueError:
        raise InputError("The threshold is a percentage, e.g. 5.") from None
    if not math.isfinite(value) or not MIN_THRESHOLD <= value <= MAX_THRESHOLD:
        raise InputError(f"The threshold is between {MIN_THRESHOLD:g}% and {MAX_THRESHOLD:g}%.")
    return round(value, 2)


def parse_direction(text: str | None) -> Direction:
    direction = (text or "both").strip().lower()
    for known in DIRECTIONS:
        if direction == known:
            return known
    raise InputError("The direction is up, down or both.")


def same_move(move: Move, last: tuple[datetime, float, int] | None) -> bool:
    """Whether `move` goes on from the last alert the same way (when, move %, level): over a
    window that began before that alert (so it still holds the move that was posted)."""
    if last is None:
        return False
    when, last_pct, _ = last
    return (last_pct < 0) == (move.pct < 0) and move.start < when


def decide(watch: Watch, move: Move, last: tuple[datetime, float, int] | None) -> int | None:
    """How many thresholds' worth a move has gone, if it is to be posted now; None if not.

    `last` is the watch's previous alert the same way (when, its move in %, its level). A
    move is posted
    when it first crosses the threshold; while the same move goes on (same way, over a window
    that began before the last post) it is posted again only when it crosses a further step
    (another threshold's worth), so a price flapping around the threshold posts once. Once the
    window starts after the last post, the window has reset and a crossing is a new move."""
    pct = move.pct
    if not math.isfinite(pct) or pct == 0:
        return None
    if (watch.direction == "up" and pct < 0) or (watch.direction == "down" and pct > 0):
        return None
    level = int(abs(pct) / watch.threshold + 1e-9)
    if level < 1:
        return None
    # The steps already posted, counted in today's threshold (it may have been changed).
    if last is not None and same_move(move, last):
        posted = int(abs(last[1]) / watch.threshold + 1e-9)
        if level <= posted:
            return None
    return level


def move_from_candles(
    candles: list[tuple[datetime, float, float]],
    asset: str,
    window: str,
    now: datetime,
    width: timedelta,
    source: str,
) -> Move | None:
    """The move over `window` up to `now` from candles (open time, open, close), oldest first:
    from the open of the candle holding the window's start to the last close. None when the
    candles do not reach back to the window's start or stop short of now (stale data posts
    nothing)."""
    start = now - WINDOWS[window]
    first = next((c for c in candles if c[0] <= start < c[0] + width), None)
    recent = [c for c in candles if c[0] <= now]
    if first is None or not recent or now - recent[-1][0] > 2 * width:
        return None
    return Move(asset, window, first[0], now, first[1], recent[-1][2], source)
