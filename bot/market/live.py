"""Live market data through ccxt's async API, on an event loop of its own.

Every ccxt client lives on one background loop, so the synchronous core (and Discord's threads)
can ask for a quote with a hard deadline. Exchanges are tried in the configured order; one that
fails is rested for a while instead of being asked again at once (a 429 rests it longest), and a
quote is reused for `ttl` seconds, so the exchanges' rate limits are respected.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Coroutine, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import ccxt.async_support as ccxt_async

from bot.market.exchanges import make_exchange, market_for, perpetual_for
from bot.market.history import Bar

log = logging.getLogger(__name__)
T = TypeVar("T")

RATE_LIMITED_REST = 120.0  # seconds an exchange that answered 429 is left alone
FAILED_REST = 30.0  # after a timeout, a network error or a reply we cannot read


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
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="marketbot-live", daemon=True
        )
        self._thread.start()

    # -- the synchronous face --------------------------------------------------------------

    def run(self, coroutine: Coroutine[Any, Any, T], deadline: float | None = None) -> T | None:
        """Run a coroutine on the market loop; None when it misses the deadline. A late call
        is not cancelled: it finishes in the background, and rests a hanging exchange or
        fills the cache for the next question."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(self.timeout if deadline is None else deadline)
        except FutureTimeout:
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
        for exchange_id, client in await self._ready():
            pair = market_for(client, symbol)
            if pair is None:
                continue
            raw = await self._call(exchange_id, client.fetch_ticker(pair))
            if raw is None:
                continue
            ticker = _ticker(symbol, pair, client, raw)
            if ticker is None:
                self._rest(exchange_id, FAILED_REST, "a ticker without a price")
                continue
            self._tickers[symbol] = (time.monotonic(), ticker)
            return ticker
        return None

    async def daily(self, symbol: str, first: date, days: int) -> list[Bar]:
        """Daily candles from `first` (UTC days), from the first exchange that has them."""
        since = int(datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp() * 1000)
        for exchange_id, client in await self._ready():
            pair = market_for(client, symbol)
            if pair is None or not client.has.get("fetchOHLCV"):
                continue
            rows = await self._call(exchange_id, client.fetch_ohlcv(pair, "1d", since, days))
            if rows is None:
                continue
            bars = _bars(rows)
            if bars:
                return bars
        return []

    async def derivatives(self, symbol: str) -> Derivatives | None:
        """Funding rate and open interest of the asset's USDT perpetual, where one is listed."""
        entry = self._derivatives.get(symbol)
        if entry and time.monotonic() - entry[0] < self.ttl:
            return entry[1]
        for exchange_id, client in await self._ready():
            pair = perpetual_for(client, symbol)
            if pair is None or not client.has.get("fetchFundingRate"):
                continue
            funding = await self._call(exchange_id, client.fetch_funding_rate(pair))
            if funding is None:
                continue
            if _number(funding.get("fundingRate")) is None:
                self._rest(exchange_id, FAILED_REST, "a funding reply without a rate")
                continue
            interest = None
            if client.has.get("fetchOpenInterest"):
                interest = await self._call(exchange_id, client.fetch_open_interest(pair))
            result = Derivatives(
                symbol,
                pair,
                client.name,
                _number(funding.get("fundingRate")),
                _open_interest_usd(interest, funding),
                datetime.now(UTC).replace(microsecond=0),
            )
            self._derivatives[symbol] = (time.monotonic(), result)
            return result
        return None

    # -- exchanges -------------------------------------------------------------------------

    async def _ready(self) -> list[tuple[str, Any]]:
        """The exchanges not resting, in order, with their market lists loaded."""
        ready = []
        for exchange_id in self.exchange_ids:
            if self._resting_until.get(exchange_id, 0.0) > time.monotonic():
                continue
            client = await self._client(exchange_id)
            if client is not None:
                ready.append((exchange_id, client))
        return ready

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

    async def _call(self, exchange_id: str, call: Coroutine[Any, Any, T]) -> T | None:
        """One exchange request; on failure the exchange rests and None comes back."""
        try:
            return await call
        except (ccxt_async.RateLimitExceeded, ccxt_async.DDoSProtection) as error:
            self._rest(exchange_id, RATE_LIMITED_REST, f"rate limited ({type(error).__name__})")
        except (ccxt_async.RequestTimeout, TimeoutError):
            self._rest(exchange_id, FAILED_REST, "timed out")
        except ccxt_async.BaseError as error:
            self._rest(exchange_id, FAILED_REST, type(error).__name__)
        except (ValueError, TypeError, KeyError, AttributeError) as error:  # a reply ccxt
            self._rest(exchange_id, FAILED_REST, f"unreadable reply ({error!r:.80})")  # chokes on
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
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _ticker(symbol: str, pair: str, client: Any, raw: dict[str, Any]) -> Ticker | None:
    price = _number(raw.get("last")) or _number(raw.get("close"))
    if price is None or price <= 0:
        return None
    stamp = raw.get("timestamp")
    as_of = (
        datetime.fromtimestamp(stamp / 1000, UTC)
        if isinstance(stamp, int | float) and stamp > 0
        else datetime.now(UTC)
    )
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


def _bars(rows: Any) -> list[Bar]:
    bars = []
    for row in rows if isinstance(rows, list) else []:
        try:
            stamp, o, h, low, c, v = (float(x) for x in row[:6])
        except (TypeError, ValueError):
            continue
        day = datetime.fromtimestamp(stamp / 1000, UTC).date()
        bars.append(Bar(day, o, h, low, c, v))
    return bars


def _open_interest_usd(interest: Any, funding: dict[str, Any]) -> float | None:
    if not isinstance(interest, dict):
        return None
    value = _number(interest.get("openInterestValue"))
    if value is not None:
        return value
    amount = _number(interest.get("openInterestAmount"))
    mark = _number(funding.get("markPrice"))
    return amount * mark if amount is not None and mark is not None else None
