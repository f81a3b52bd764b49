"""The figures an answer shows, every one computed from data and labelled with its source and
time: the price now (live, last known or snapshot), the move over the period the question is
about, the market's move over the same period, and perpetual metrics when live."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from bot.core.assets import AssetTable
from bot.core.documents import Figure
from bot.errors import InputError, NotFoundError
from bot.market.history import Bar, PriceHistory, Series
from bot.market.premise import WEEK, Premise, check, move_day, pct, trading_day

if TYPE_CHECKING:  # ccxt takes 0.6 s to import: only when live prices are configured
    from bot.market.live import Derivatives, LiveMarket, Ticker

log = logging.getLogger(__name__)
EARLIEST = date(2009, 1, 3)  # the first bitcoin block: no market data before it


@dataclass(frozen=True)
class Quote:
    """The price shown for an asset, and how it was obtained."""

    symbol: str
    price: float
    change_pct: float | None
    source: str  # "Binance ETH/USDT" or the snapshot's source
    as_of: datetime
    status: Literal["live", "last_known", "snapshot"]
    high: float | None = None
    low: float | None = None
    quote_volume: float | None = None
    kind: ClassVar[str] = "quote"

    @property
    def label(self) -> str:
        return f"{self.symbol} price"

    @property
    def text(self) -> str:
        change = f", {signed(self.change_pct)} in 24h" if self.change_pct is not None else ""
        if self.status == "snapshot":
            return (
                f"{money(self.price)} at the close of {self.as_of:%-d %b %Y}, "
                f"{signed(self.change_pct)} that day (snapshot: {self.source}; no live price)"
                if self.change_pct is not None
                else f"{money(self.price)} at the close of {self.as_of:%-d %b %Y} "
                f"(snapshot: {self.source}; no live price)"
            )
        when = f"{self.as_of:%-d %b %H:%M} UTC"
        label = "read" if self.status == "live" else "last known, read"
        return f"{money(self.price)}{change} ({self.source}, {label} {when})"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "text": self.text,
            "asset": self.symbol,
            "price": self.price,
            "change_pct_24h": None if self.change_pct is None else round(self.change_pct, 2),
            "high": self.high,
            "low": self.low,
            "quote_volume": self.quote_volume,
            "source": self.source,
            "as_of": self.as_of.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "status": self.status,
        }


class MarketData:
    """History, live data and premise checks behind one synchronous call per answer."""

    def __init__(self, history: PriceHistory, live: LiveMarket | None, assets: AssetTable) -> None:
        self.history = history
        self.live = live
        self.assets = assets

    # -- the price now ---------------------------------------------------------------------

    def symbol(self, word: str) -> str:
        """The asset a user means ("eth", "Ether", "$SPY"), or a clear error."""
        cleaned = word.strip().lstrip("$")
        symbol = self.assets.resolve(cleaned)
        if symbol is None and cleaned.upper() in self.history.symbols():
            symbol = cleaned.upper()
        if symbol is None:
            raise InputError(
                f"I don't know the asset {cleaned[:40]!r}: try a ticker such as BTC, ETH or SPY."
            )
        return symbol

    def price(self, word: str, budget: float) -> tuple[Quote, list[Figure]]:
        """The price of an asset now (or the freshest known), and its perpetual's metrics."""
        symbol = self.symbol(word)
        started = time.monotonic()
        quote = self.quote(symbol, budget)
        if quote is None:
            raise NotFoundError(f"I have no price for {symbol}, live or in the snapshot.")
        figures: list[Figure] = []
        if self.live is not None and quote.status == "live":
            left = max(budget - (time.monotonic() - started), 0.01)
            metrics = self.live.run(self.live.derivatives(symbol), left)
            if metrics is not None:
                figures.append(DerivativesFigure(metrics))
        return quote, figures

    def quote(
        self, symbol: str, deadline: float | None = None, *, as_of: datetime | None = None
    ) -> Quote | None:
        """Live within the deadline, else the last live reading, else the snapshot's close.
        With `as_of`, the close of the last daily bar complete by then, and nothing live."""
        if as_of is not None:
            return self._closing_quote(symbol, last_closed(as_of))
        ticker = (
            self.live.run(self.live.ticker(symbol), deadline)
            if self.live and self._on_exchanges(symbol) and (deadline is None or deadline > 0)
            else None
        )
        if ticker is not None:
            return _from_ticker(ticker, "live")
        last = self.live.cached_ticker(symbol) if self.live else None
        if last is not None:
            return _from_ticker(last, "last_known")
        return self._closing_quote(symbol)

    def _closing_quote(self, symbol: str, last_day: date | None = None) -> Quote | None:
        """The history's last close (up to `last_day`), as a snapshot quote."""
        series = self.history.get(symbol)
        bars = series.bars if series else ()
        if last_day is not None:
            bars = tuple(b for b in bars if b.day <= last_day)
        if series is None or not bars:
            return None
        bar = bars[-1]
        return Quote(
            symbol,
            bar.close,
            pct(bar.open, bar.close),
            series.source,
            datetime(bar.day.year, bar.day.month, bar.day.day, tzinfo=UTC),
            "snapshot",
            bar.high,
            bar.low,
        )

    def _on_exchanges(self, symbol: str) -> bool:
        """Crypto trades on the configured exchanges; equities and ETFs come from history
        (a crypto token sharing an ETF's ticker must not lend it its price)."""
        info = self.assets.assets.get(symbol)
        return info is None or info.kind == "crypto"

    def daily(
        self,
        symbol: str,
        first: date,
        last: date,
        deadline: float | None = None,
        *,
        as_of: datetime | None = None,
    ) -> Series:
        """Daily bars over [first, last]: history, completed by the live exchange where the
        history stops short (today's bar is still moving, so it comes live only). With
        `as_of`, the history's bars complete by then only."""
        series = self.history.get(symbol) or Series(symbol, (), "")
        if as_of is not None:
            closed = series.between(first, min(last, last_closed(as_of)))
            return Series(symbol, tuple(closed), series.source)
        bars = {b.day: b for b in series.between(first, last)}
        source = series.source
        have_all = bars and max(bars) >= min(last, datetime.now(UTC).date() - timedelta(days=1))
        wait = deadline is None or deadline > 0
        if not have_all and self.live is not None and self._on_exchanges(symbol) and wait:
            start = max(bars) + timedelta(days=1) if bars else first
            fetched = self.live.run(
                self.live.daily(symbol, start, (last - start).days + 1), deadline
            )
            fresh = [b for b in fetched or [] if first <= b.day <= last]
            if fresh:
                bars.update({b.day: b for b in fresh})
                source = f"{source}; live daily candles" if source else "live daily candles"
        return Series(symbol, tuple(sorted(bars.values(), key=lambda b: b.day)), source)

    # -- an answer's figures ---------------------------------------------------------------

    def for_answer(
        self,
        question: Any,
        cited_dates: list[date],
        event_day: date | None,
        budget: float,
        *,
        as_of: datetime | None = None,
    ) -> tuple[list[Figure], Premise | None]:
        """Figures for an answer about `question`, and the premise check when it claims a
        move; `budget` is the most this may wait for live data, in seconds. With `as_of` (an
        aware datetime), the figures as they stood then: from the daily bars complete by
        then (a day's bar is complete at the next 00:00 UTC), with no live call at all."""
        asset = question.assets[0] if question.assets else None
        if asset is None:
            return [], None
        started = time.monotonic()

        def left() -> float:  # 0 once the budget is spent: no more live calls
            return max(budget - (time.monotonic() - started), 0.0)

        figures: list[Figure] = []
        quote = self.quote(asset, left(), as_of=as_of)
        if quote is not None:
            figures.append(quote)
        live_now = self.live is not None and quote is not None and quote.status == "live"
        derivatives = (
            self.live.run(self.live.derivatives(asset), left())
            if self.live and live_now and left() > 0
            else None
        )
        if derivatives is not None:
            figures.append(DerivativesFigure(derivatives))
        around = event_day or (max(cited_dates) if cited_dates else None)
        now = as_of or datetime.now(UTC)
        if around is None or not EARLIEST <= around <= now.date() + timedelta(days=1):
            return figures, None  # no day, or one no market data can cover
        first, last = around - timedelta(days=12), around + timedelta(days=1)
        series = self.daily(asset, first, last, left(), as_of=as_of)
        if not series.bars:
            return figures, None
        day = event_day or move_day(series, around, question.direction, question.claimed_pct)
        day = trading_day(series, day) or day  # a Saturday asked about means Friday's bars
        named_day = (
            event_day is not None
            and bool(getattr(question, "dates", ()))
            and not WEEK.search(question.text)
        )
        premise = check(
            series, day, question.direction, question.claimed_pct, question.text, named_day
        )
        if premise.windows:
            figures.append(_move_figure(series, day))
            context = self._context(asset, series, day, left(), as_of)
            if context is not None:
                figures.append(context)
        # A claimed move is checked; a day asked about with "why" is described all the same.
        claimed = question.claimed_pct is not None or question.direction is not None
        asked = event_day is not None and getattr(question, "kind", None) == "why"
        return figures, premise if claimed or asked else None

    def _context(
        self, asset: str, series: Series, day: date, deadline: float, as_of: datetime | None
    ) -> MarketContext | None:
        """The market's move the same day: BTC for crypto, SPY for the rest (from the bars
        complete by `as_of`, when given)."""
        info = self.assets.assets.get(asset)
        benchmark = "BTC" if info is None or info.kind == "crypto" else "SPY"
        if asset == benchmark:
            return None
        other = self.daily(benchmark, day, day, deadline, as_of=as_of)
        mine, theirs = series.on(day), other.on(day)
        if mine is None or theirs is None or min(mine.open, theirs.open, theirs.close) <= 0:
            return None
        own, market = pct(mine.open, mine.close), pct(theirs.open, theirs.close)
        relative = pct(mine.open / theirs.open, mine.close / theirs.close)
        if abs(market) < 1 <= abs(own):
            reading = f"{asset}'s own move: the market barely moved"
        elif (own < 0) != (market < 0) and abs(own) >= 1:
            reading = f"{asset}'s own move, against the market"
        elif abs(relative) < 2:
            reading = "a market-wide move"
        elif abs(own) > abs(market):
            reading = f"market-wide, and {asset} moved more than {benchmark}"
        else:
            reading = f"{asset} moved less than {benchmark}"
        return MarketContext(asset, benchmark, day, market, relative, reading, other.source)


def last_closed(as_of: datetime) -> date:
    """The last UTC day whose daily bar was complete at `as_of` (an aware datetime): a day's
    bar closes at the next day's 00:00 UTC."""
    return (as_of.astimezone(UTC) - timedelta(days=1)).date()


def _from_ticker(ticker: Ticker, status: Literal["live", "last_known"]) -> Quote:
    return Quote(
        ticker.symbol,
        ticker.price,
        ticker.change_pct,
        f"{ticker.exchange} {ticker.pair}",
        ticker.as_of,
        status,
        ticker.high,
        ticker.low,
        ticker.quote_volume,
    )


@dataclass(frozen=True)
class MarketContext:
    """The market's move on the asset's day (BTC's for crypto, SPY's for the rest), and what
    it says of the asset's own move."""

    asset: str
    benchmark: str
    day: date
    benchmark_pct: float
    relative_pct: float  # the asset against the benchmark, open to close
    reading: str  # "a market-wide move", "ETH's own move: the market barely moved", ...
    source: str
    kind: ClassVar[str] = "context"

    @property
    def label(self) -> str:
        return f"Market on {self.day:%-d %b %Y}"

    @property
    def text(self) -> str:
        return (
            f"{self.benchmark} {verb(self.benchmark_pct)} {abs(self.benchmark_pct):.1f}% the "
            f"same day; {self.asset}/{self.benchmark} {signed(self.relative_pct)}: "
            f"{self.reading} ({self.source})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "text": self.text,
            "benchmark": self.benchmark,
            "day": self.day.isoformat(),
            "benchmark_pct": round(self.benchmark_pct, 2),
            "reading": self.reading,
            "relative_pct": round(self.relative_pct, 2),
            "source": self.source,
        }


@dataclass(frozen=True)
class DayMove:
    """An asset's daily bar on the move's day, and the move from the previous session's open
    when that session is at most four days before."""

    symbol: str
    bar: Bar
    source: str
    previous: Bar | None = None
    kind: ClassVar[str] = "move"

    @property
    def pct(self) -> float:
        return pct(self.bar.open, self.bar.close)

    @property
    def from_previous_open_pct(self) -> float | None:
        return None if self.previous is None else pct(self.previous.open, self.bar.close)

    @property
    def label(self) -> str:
        return f"{self.symbol} on {self.bar.day:%-d %b %Y}"

    @property
    def text(self) -> str:
        bar, change = self.bar, self.pct
        text = (
            f"{verb(change)} {abs(change):.1f}% (open {plain(bar.open)}, low {plain(bar.low)}, "
            f"high {plain(bar.high)}, close {plain(bar.close)})"
        )
        two_day = self.from_previous_open_pct
        if self.previous is not None and two_day is not None:
            text += f"; {signed(two_day)} from the {self.previous.day:%-d %b} open"
        return f"{text} ({self.source})"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "label": self.label,
            "day": self.bar.day.isoformat(),
            "open": self.bar.open,
            "high": self.bar.high,
            "low": self.bar.low,
            "close": self.bar.close,
            "pct": round(self.pct, 2),
            "source": self.source,
        }
        two_day = self.from_previous_open_pct
        if two_day is not None:
            data["from_previous_open_pct"] = round(two_day, 2)
        data["text"] = self.text
        return data


def _move_figure(series: Series, day: date) -> DayMove:
    bar = series.on(day)
    assert bar is not None
    previous = series.before(day)
    near = previous is not None and (day - previous.day).days <= 4
    return DayMove(series.symbol, bar, series.source, previous if near else None)


@dataclass(frozen=True)
class DerivativesFigure:
    """A perpetual's funding rate and open interest, as read live."""

    metrics: Derivatives
    kind: ClassVar[str] = "derivatives"

    @property
    def label(self) -> str:
        return f"{self.metrics.symbol} perpetual"

    @property
    def text(self) -> str:
        metrics, parts = self.metrics, []
        if metrics.funding_rate is not None:
            parts.append(f"funding {metrics.funding_rate * 100:+.4f}% per interval")
        if metrics.open_interest_usd is not None:
            parts.append(f"open interest {money(metrics.open_interest_usd, compact=True)}")
        return (
            f"{', '.join(parts) or 'no figures'} ({metrics.exchange} {metrics.pair}, read "
            f"{metrics.as_of:%-d %b %H:%M} UTC)"
        )

    def to_json(self) -> dict[str, Any]:
        metrics = self.metrics
        return {
            "kind": self.kind,
            "label": self.label,
            "text": self.text,
            "funding_rate": metrics.funding_rate,
            "open_interest_usd": metrics.open_interest_usd,
            "source": f"{metrics.exchange} {metrics.pair}",
            "as_of": metrics.as_of.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "status": "live",
        }


def verb(change: float) -> str:
    return "fell" if change < 0 else "rose"


def signed(change: float | None) -> str:
    return "n/a" if change is None else f"{change:+.1f}%".replace("-", "\u2212")


def plain(value: float) -> str:
    """Prices as people write them: 3,603.84; 0.1652; 0.00001234 (never 1.234e-05)."""
    if round(value, 2) >= 1000:  # 999.996 is written 1,000.00, with its separator
        return f"{value:,.2f}"
    if value >= 1:
        return f"{value:.2f}"
    if value <= 0:
        return f"{value:.2f}"
    digits = max(4 - 1 - math.floor(math.log10(value)), 4)  # four significant digits
    return f"{value:.{min(digits, 12)}f}"


def money(value: float, *, compact: bool = False) -> str:
    if compact and value >= 1e9:
        return f"${value / 1e9:.2f}bn"
    if compact and value >= 1e6:
        return f"${value / 1e6:.1f}m"
    return f"${plain(value)}"
