"""Price charts as PNG: daily closes with the day's range, and the publish times of the news
that explains the move marked on the time axis."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # no display, and safe off the main thread

import matplotlib.dates as mdates
from matplotlib.figure import Figure

from bot.core.documents import Article
from bot.errors import NotFoundError
from bot.market.history import Series

if TYPE_CHECKING:
    from bot.market.figures import MarketData

WIDTH, HEIGHT, DPI = 1000, 500, 100


@dataclass(frozen=True)
class Mark:
    """A dated article to show on the chart."""

    at: datetime
    label: str


def render_chart(
    series: Series,
    marks: Sequence[Mark] = (),
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> bytes:
    """A PNG of exactly width x height pixels."""
    if not series.bars:
        raise ValueError("no bars to chart")
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    axes = figure.add_subplot()
    days = [datetime.combine(b.day, time(12), tzinfo=UTC) for b in series.bars]
    x = mdates.date2num(days)
    closes = [b.close for b in series.bars]
    axes.fill_between(
        x,
        [b.low for b in series.bars],
        [b.high for b in series.bars],
        color="#5865F2",
        alpha=0.15,
        linewidth=0,
        label="daily range",
    )
    axes.plot(x, closes, color="#5865F2", linewidth=2, marker="o", markersize=3, label="close")
    first, last = days[0], days[-1]
    shown = [m for m in marks if first.date() <= m.at.date() <= last.date()]
    for n, mark in enumerate(shown, 1):
        axes.axvline(float(mdates.date2num(mark.at)), color="#ED4245", linestyle="--", linewidth=1)
        axes.annotate(
            f"[{n}]",
            (float(mdates.date2num(mark.at)), 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(2, -12),
            textcoords="offset points",
            color="#ED4245",
            fontsize=9,
        )
    axes.set_title(
        f"{series.symbol}: {series.bars[0].day:%-d %b} to {series.bars[-1].day:%-d %b %Y}",
        loc="left",
    )
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%-d %b"))
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize=8)
    figure.text(0.01, 0.01, f"Source: {series.source}"[:140], fontsize=7, color="#555555")
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


MAX_MARKS = 9


def chart(
    market: MarketData,
    symbol: str,
    days: int,
    around: date | None,
    articles: Iterable[Article],
    *,
    today: date,
    timeout: float,
) -> tuple[bytes, str]:
    """The chart of SYMBOL over DAYS days, ending today or centred on AROUND (an event's day),
    with the stored articles about it marked, and its caption naming them. With no data for
    the window, the last days of the history instead, said so in the caption."""
    last = today if around is None else min(today, around + timedelta(days=days // 2))
    series = market.daily(symbol, last - timedelta(days=days - 1), last, timeout)
    note = ""
    if not series.bars:
        stored = market.history.get(symbol)
        if stored is None or not stored.bars:
            raise NotFoundError(f"I have no price history for {symbol}.")
        series = Series(symbol, stored.bars[-days:], stored.source)
        note = " (no data for the days asked: the last days of the history)"
    first, last = series.bars[0].day, series.bars[-1].day
    marked = sorted(
        (
            a
            for a in articles
            if symbol in a.assets and a.published_at and first <= a.published_at.date() <= last
        ),
        key=lambda a: a.published_at or a.ingested_at,
    )[:MAX_MARKS]
    png = render_chart(series, [Mark(a.published_at, a.title) for a in marked if a.published_at])
    lines = [f"{symbol}, {first:%-d %b} to {last:%-d %b %Y}{note}. Source: {series.source}."]
    lines += [
        f"[{n}] {a.title} ({a.outlet or 'outlet unknown'}, {a.published_at:%Y-%m-%d})"
        for n, a in enumerate(marked, 1)
        if a.published_at
    ]
    return png, "\n".join(lines)
