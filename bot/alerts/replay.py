"""Replay: the alert rule over stored price history, each alert explained only from the news
published before its time, as the watcher would have posted it then."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from bot.alerts.model import Move, Watch, decide, parse_direction, parse_threshold, parse_window
from bot.alerts.watcher import Watcher, explained
from bot.core.documents import Answer
from bot.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from bot.services import Services

MAX_DAYS = 400


@dataclass(frozen=True)
class Replayed:
    """An alert the watch would have fired, and the answer it would have posted."""

    asset: str
    at: datetime
    day: date
    move_pct: float
    window: str
    from_price: float
    to_price: float
    level: int
    answer: Answer
    since: date | None = None  # the session before, when it is not the day before (a weekend)

    @property
    def explained(self) -> bool:
        return explained(self.answer)

    def to_json(self) -> dict[str, Any]:
        return {
            "asset": self.asset,
            "at": self.at.isoformat(),
            "day": self.day.isoformat(),
            "move_pct": round(self.move_pct, 2),
            "window": self.window,
            "from_price": self.from_price,
            "to_price": self.to_price,
            "level": self.level,
            "since": (self.since or self.day - timedelta(days=1)).isoformat(),
            "explained": self.explained,
            "answer": self.answer.to_json(),
        }


def replay(
    services: Services,
    asset: str,
    first: date,
    last: date,
    threshold: str | float,
    window: str | None = "24h",
    direction: str | None = "both",
    *,
    chart: bool = False,
) -> Iterator[Replayed]:
    """One record per alert the watch would have fired between `first` and `last` (UTC days).

    The history holds daily bars, so a day's move is close to close and is seen at the close
    (the next day's 00:00 UTC): the alert's time, and the cutoff for the news that explains
    it."""
    span = parse_window(window)
    if span != "24h":
        raise InputError("The price history holds daily bars: only --window 24h can be replayed.")
    if last < first:
        raise InputError("--to is before --from.")
    if (last - first).days > MAX_DAYS:
        raise InputError(f"Replay at most {MAX_DAYS} days at a time.")
    symbol = services.market.symbol(asset)
    series = services.market.history.get(symbol)
    if series is None or not series.bars:
        raise NotFoundError(f"I have no price history for {symbol}.")
    if not any(first <= bar.day <= last for bar in series.bars):
        raise NotFoundError(
            f"The price history of {symbol} runs from {series.bars[0].day} to "
            f"{series.bars[-1].day}: nothing between {first} and {last} "
            "(`marketbot prices import` adds more)."
        )
    watch = Watch(
        "replay",
        "replay",
        "replay",
        symbol,
        parse_threshold(threshold),
        span,
        parse_direction(direction),
        "replay",
        "",
    )
    watcher = Watcher(services)
    # The last alert each way, as the watcher keeps them (a day's window never holds the day
    # before's alert, so with daily bars every day is a new move).
    previous: dict[bool, tuple[datetime, float, int]] = {}
    for before, bar in pairwise(series.bars):
        if not first <= bar.day <= last or before.close <= 0:
            continue
        start = _midnight(before.day + timedelta(days=1))
        at = _midnight(bar.day + timedelta(days=1))
        move = Move(symbol, span, start, at, before.close, bar.close, f"{series.source}")
        level = decide(watch, move, previous.get(move.pct < 0))
        if level is None:
            continue
        previous[move.pct < 0] = (at, move.pct, level)
        alert = watcher.explain(
            watch,
            move.pct,
            at,
            level,
            f"replay:{symbol}:{bar.day}",
            as_of=at,
            chart=chart,
            day=bar.day,
        )
        gap = (bar.day - before.day).days > 1
        yield Replayed(
            symbol,
            at,
            bar.day,
            move.pct,
            span,
            before.close,
            bar.close,
            level,
            alert.answer,
            before.day if gap else None,
        )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)
