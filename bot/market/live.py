"""Live market data through ccxt's async API, on an event loop of its own.

Every ccxt client lives on one background loop, so the synchronous core (and Discord's threads)
can ask for a quote with a hard deadline. Exchanges are tried in the configured order; one that
fails is rested for a while instead of being asked again at once (a 429 rests it longest), and a
quote is reused for `ttl` seconds, so the exchanges' rate limits are respected.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from typing import Any, TypeVar

import ccxt.async_support as ccxt_async

from bot.market.exchanges import make_exchange, market_for, perpetual_for
from bot.market.history import Bar

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_WORK = 15.0  # no fetch, however queued behind rate limits, runs longer than this
RATE_LIMITED_REST = 120.0  # seconds an exchange that answered 429 is left alone
FAILED_REST = 30.0
EARLIEST_MS = (
    1_230_768_000_000  # 2009-01-01  # after a timeout, a network error or a reply we cannot read
)


@dataclass(frozen=True)
class Ticker:
    """A live reading of one market."""

    symbol: str
    pair: str
    exchange: str
    price: float
    change_pct: float | None
    high: float | None
    low: float | None
    quote_volume: float | None
    as_of: datetime


@dataclass(frozen=True)
class Candle:
    """One intraday candle: its open time (UTC) and prices."""

    at: datetime
    open: float
    high: float
    low: float
    close: float


@dataclass(frozen=True)
class Derivatives:
    """Funding and open interest of an asset's USDT perpetual."""

    symbol: str
    pair: str
    exchange: str
    funding_rate: float | None
    open_interest_usd: float | None
    as_of: datetime


class LiveMarket:
    """Tickers, daily candles and perpetual metrics from the first exchange that answers."""

    def __init__(
        self,
        exchanges: Sequence[str],
        urls: dict[str, str] | None = None,
        *,
        timeout: float = 1.5,
        ttl: float = 30.0,
    ) -> None:
        self.exchange_ids = [e for e in exchanges if e]
        self.urls = urls or {}
        self.timeout = timeout
        self.ttl = ttl
        self._clients: dict[str, Any] = {}
        self._loading: dict[str, asyncio.Task[Any]] = {}
        self._resting_until: dict[str, float] = {}
        self._tickers: dict[str, tuple[float, Ticker]] = {}
        self._derivatives: dict[str, tuple[float, Derivatives | None]] = {}
        self._inflight: dict[tuple[str, ...], asyncio.Future[Any]] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="marketbot-live", daemon=True
        )
        self._thread.start()

    # -- the synchronous face --------------------------------------------------------------

    def run(self, coroutine: Coroutine[Any, Any, T], deadline: float | None = None) -> T | None:
        """Run a coroutine on the market loop; None when it misses the deadline or fails. A
        late call is not cancelled: it finishes in the background (at most MAX_WORK seconds),
        and rests a hanging exchange or fills the cache for the next question."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(self.timeout if deadline is None else deadline)
        except FutureTimeout:
            return None
        except Exception:
            log.exception("market data call failed")
            return None

    def warm(self) -> None:
        """Start loading every exchange's market list in the background."""
        for exchange_id in self.exchange_ids:
            asyncio.run_coroutine_threadsafe(self._quietly(self._client(exchange_id)), self._loop)

    def close(self) -> None:
        async def close_all() -> None:
            for client in self._clients.values():
                await client.close()

        if self._loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(close_all(), self._loop).result(10)
            except Exception:  # closing is best effort; the process is ending
                log.debug("closing the exchanges failed", exc_info=True)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    # -- data ------------------------------------------------------------------------------

    def cached_ticker(self, symbol: str) -> Ticker | None:
        """The last ticker read for a symbol, however old."""
        entry = self._tickers.get(symbol)
        return entry[1] if entry else None

    async def ticker(self, symbol: str) -> Ticker | None:
        """A fresh (or `ttl`-recent) ticker from the first exchange that lists the asset."""
        entry = self._tickers.get(symbol)
        if entry and time.monotonic() - entry[0] < self.ttl:
            return entry[1]
        return await self._once(("ticker", symbol), self._fetch_ticker(symbol))

    async def _fetch_ticker(self, symbol: str) -> Ticker | None:
        async for exchange_id, client in self._ready():
            pair = market_for(client, symbol)
            if pair is None:
                continue
            ticker = await self._call(
                exchange_id,
                client.fetch_ticker(pair),
                partial(_ticker, symbol, pair, client),
            )
            if ticker is not None:
                self._tickers[symbol] = (time.monotonic(), ticker)
                return ticker
        return None

    async def daily(self, symbol: str, first: date, days: int) -> list[Bar]:
        """Daily candles from `first` (UTC days), from the first exchange that has them."""
        key = ("daily", symbol, first.isoformat(), str(days))
        return await self._once(key, self._fetch_daily(symbol, first, days)) or []

    async def _fetch_daily(self, symbol: str, first: date, days: int) -> list[Bar] | None:
        since = int(datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp() * 1000)
        async for exchange_id, client in self._ready():
            pair = market_for(client, symbol)
            if pair is None or not client.has.get("fetchOHLCV"):
                continue
            bars = await self._call(exchange_id, client.fetch_ohlcv(pair, "1d", since, days), _bars)
            if bars:
                return bars
        return None

    async def candles(
        self, symbol: str, timeframe: str, since: datetime, limit: int
    ) -> tuple[str, list[Candle]] | None:
        """Intraday candles (ccxt's timeframe, "5m", "1h") from `since`, and where they come
        from ("Binance ETH/USDT"), from the first exchange that has them."""
        key = ("candles", symbol, timeframe, since.isoformat(), str(limit))
        return await self._once(key, self._fetch_candles(symbol, timeframe, since, limit))

    async def _fetch_candles(
        self, symbol: str, timeframe: str, since: datetime, limit: int
    ) -> tuple[str, list[Candle]] | None:
        since_ms = int(since.timestamp() * 1000)
        async for exchange_id, client in self._ready():
            pair = market_for(client, symbol)
            if pair is None or not client.has.get("fetchOHLCV"):
                continue
            found = await self._call(
                exchange_id, client.fetch_ohlcv(pair, timeframe, since_ms, limit), _candles
            )
            if found:
                return f"{client.name} {pair}", found
        return None

    async def derivatives(self, symbol: str) -> Derivatives | None:
        """Funding rate and open interest of the asset's USDT perpetual, where one is listed."""
        entry = self._derivatives.get(symbol)
        if entry and time.monotonic() - entry[0] < self.ttl:
            return entry[1]
        return await self._once(("derivatives", symbol), self._fetch_derivatives(symbol))

    async def _fetch_derivatives(self, symbol: str) -> Derivatives | None:
        async for exchange_id, client in self._ready():
            pair = perpetual_for(client, symbol)
            if pair is None or not client.has.get("fetchFundingRate"):
                continue
            funding = await self._call(exchange_id, client.fetch_funding_rate(pair), _funding)
            if funding is None:
                continue
            interest = None
            if client.has.get("fetchOpenInterest"):
                interest = await self._call(
                    exchange_id,
                    client.fetch_open_interest(pair),
                    partial(_open_interest_usd, funding=funding),
                )
            result = Derivatives(
                symbol,
                pair,
                client.name,
                _number(funding.get("fundingRate")),
                interest,
                datetime.now(UTC).replace(microsecond=0),
            )
            self._derivatives[symbol] = (time.monotonic(), result)
            return result
        return None

    # -- exchanges -------------------------------------------------------------------------

    async def _once(self, key: tuple[str, ...], work: Coroutine[Any, Any, T]) -> T | None:
        """One fetch per key at a time: callers arriving while it runs share its result, so
        a burst of questions never queues a burst of requests. Capped at MAX_WORK seconds."""
        task = self._inflight.get(key)
        if task is None or task.done():
            task = asyncio.ensure_future(asyncio.wait_for(work, MAX_WORK))
            self._inflight[key] = task
        else:
            work.close()  # not needed: the running fetch answers this caller too
        try:
            return await asyncio.shield(task)
        except (TimeoutError, asyncio.CancelledError):
            return None
        except Exception:  # a bug or an unexpected reply must never reach the user
            log.exception("market data fetch %s failed", key)
            return None

    async def _ready(self) -> AsyncIterator[tuple[str, Any]]:
        """The exchanges not resting, in order, each loaded only when reached: a slow
        exchange further down the list never delays the first one."""
        for exchange_id in self.exchange_ids:
            if self._resting(exchange_id):
                continue
            client = await self._client(exchange_id)
            if client is not None and not self._resting(exchange_id):
                yield exchange_id, client

    def _resting(self, exchange_id: str) -> bool:
        return self._resting_until.get(exchange_id, 0.0) > time.monotonic()

    async def _client(self, exchange_id: str) -> Any:
        client = self._clients.get(exchange_id)
        if client is None:
            try:
                client = make_exchange(exchange_id, self.urls.get(exchange_id), self.timeout)
            except ValueError as error:
                log.warning("%s", error)
                self._rest(exchange_id, float("inf"), "unknown exchange")
                return None
            self._clients[exchange_id] = client
        if client.markets:
            return client
        # One load at a time per exchange, shared by every caller waiting on it.
        task = self._loading.get(exchange_id)
        if task is None or task.done():
            task = asyncio.ensure_future(self._call(exchange_id, self._load(client)))
            self._loading[exchange_id] = task
        markets = await asyncio.shield(task)
        return client if markets else None

    async def _call(
        self,
        exchange_id: str,
        call: Coroutine[Any, Any, Any],
        read: Callable[[Any], T | None] = lambda raw: raw,
    ) -> T | None:
        """One exchange request and the reading of its reply; on any failure the exchange
        rests and None comes back. A reply that cannot be read counts as a failure."""
        if self._resting(exchange_id):  # it failed while this call waited its turn
            call.close()
            return None
        try:
            value = read(await call)
        except (ccxt_async.RateLimitExceeded, ccxt_async.DDoSProtection) as error:
            self._rest(exchange_id, RATE_LIMITED_REST, f"rate limited ({type(error).__name__})")
        except (ccxt_async.RequestTimeout, TimeoutError):
            self._rest(exchange_id, FAILED_REST, "timed out")
        except ccxt_async.BaseError as error:
            self._rest(exchange_id, FAILED_REST, type(error).__name__)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError, OSError) as error:
            self._rest(exchange_id, FAILED_REST, f"unreadable reply ({error!r:.80})")
        else:
            if value is None:
                self._rest(exchange_id, FAILED_REST, "a reply without the figures asked for")
            return value
        return None

    def _rest(self, exchange_id: str, seconds: float, why: str) -> None:
        # Unreachable exchanges are routine (no network, offline use): INFO. Being rate
        # limited means we ask too often: WARNING.
        level = logging.WARNING if seconds == RATE_LIMITED_REST else logging.INFO
        log.log(level, "exchange %s: %s; resting it for %.0f s", exchange_id, why, seconds)
        self._resting_until[exchange_id] = time.monotonic() + seconds

    @staticmethod
    async def _load(client: Any) -> Any:
        # reload=True: ccxt keeps a finished load_markets() future, an empty result included.
        markets = await client.load_markets(reload=True)
        if not markets:  # HTML or cut JSON under HTTP 200 parses to no markets, not an error
            raise ccxt_async.ExchangeError(f"{client.id}: an empty market list")
        return markets

    @staticmethod
    async def _quietly(call: Coroutine[Any, Any, Any]) -> None:
        try:
            await call
        except Exception:  # warming up is best effort; the next question retries
            log.debug("warm-up failed", exc_info=True)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _moment(milliseconds: Any) -> datetime | None:
    """A plausible exchange timestamp (2009 to a day ahead), else None."""
    stamp = _number(milliseconds)
    if stamp is None or not EARLIEST_MS <= stamp <= time.time() * 1000 + 86_400_000:
        return None
    return datetime.fromtimestamp(stamp / 1000, UTC)


def _funding(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or _number(raw.get("fundingRate")) is None:
        return None
    return raw


def _ticker(symbol: str, pair: str, client: Any, raw: dict[str, Any]) -> Ticker | None:
    price = _number(raw.get("last")) or _number(raw.get("close"))
    if price is None or price <= 0:
        return None
    as_of = _moment(raw.get("timestamp")) or datetime.now(UTC)
    return Ticker(
        symbol=symbol,
        pair=pair,
        exchange=client.name,
        price=price,
        change_pct=_number(raw.get("percentage")),
        high=_number(raw.get("high")),
        low=_number(raw.get("low")),
        quote_volume=_number(raw.get("quoteVolume")),
        as_of=as_of.replace(microsecond=0),
    )


def _ohlc(rows: Any) -> list[tuple[datetime, float, float, float, float, float]]:
    """Candle rows that make sense (a plausible time, positive prices, low <= open, close <=
    high) as (time, open, high, low, close, volume); others dropped."""
    found = []
    for row in rows if isinstance(rows, list) else []:
        values = [_number(x) for x in row[:6]] if isinstance(row, list | tuple) else []
        if len(values) < 6 or any(v is None for v in values):
            continue
        stamp, o, h, low, c, volume = (float(v or 0) for v in values)
        moment = _moment(stamp)
        if moment is None or min(o, h, low, c) <= 0 or not low <= min(o, c) <= max(o, c) <= h:
            continue
        found.append((moment, o, h, low, c, volume))
    return found


def _bars(rows: Any) -> list[Bar]:
    return [Bar(m.date(), o, h, low, c, v) for m, o, h, low, c, v in _ohlc(rows)]


def _candles(rows: Any) -> list[Candle]:
    """Intraday candles, oldest first."""
    return sorted(
        (Candle(m, o, h, low, c) for m, o, h, low, c, _ in _ohlc(rows)), key=lambda x: x.at
    )


def _open_interest_usd(interest: Any, funding: dict[str, Any]) -> float | None:
    if not isinstance(interest, dict):
        return None
    value = _number(interest.get("openInterestValue"))
    if value is not None:
        return value
    amount = _number(interest.get("openInterestAmount"))
    mark = _number(funding.get("markPrice"))
    return amount * mark if amount is not None and mark is not None else None
