"""Local stand-ins for Binance's and Kraken's public REST APIs on 127.0.0.1.

Each `FakeExchange` is one aiohttp server on its own thread and event loop (so synchronous
tests can block on `LiveMarket.run` while it answers), speaking the routes ccxt calls:

* binance: spot `/api/v3/exchangeInfo`, `/api/v3/ticker/24hr`, `/api/v3/klines`, and the
  USDⓈ-M perpetual `/fapi/v1/exchangeInfo`, `/fapi/v1/premiumIndex`, `/fapi/v1/openInterest`;
* kraken: `/0/public/AssetPairs`, `/0/public/Assets`, `/0/public/Ticker`, `/0/public/OHLC`;

plus each exchange's `time` route. The response shapes are copied from Binance's and Kraken's
documentation and recorded responses (tests/fixtures/exchanges/, see its README); the numbers
are the daily bars in knowledge/prices/ (Binance spot klines, UTC days). The fake's clock
stands at the end of `day` (2025-11-05 by default): the 24 h tickers describe that UTC day and
no candle after it is served.

Every request is recorded (method, path, query, monotonic time). `mode` makes the whole server
misbehave: "ok", "slow" (answer after `slow_seconds`, longer than any client timeout used in
the tests; released at once when the server stops), "429" (Binance's real rate-limit reply
with a Retry-After header), "garbage" (HTTP 200 with an HTML page, or with JSON cut in half
when `garbage` is "truncated").
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import csv
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from aiohttp import web

FIXTURES = Path(__file__).parent / "fixtures" / "exchanges"
PRICES = Path(__file__).resolve().parents[1] / "knowledge" / "prices"

MODES = ("ok", "slow", "429", "garbage")
INTRADAY_MS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000}
CLOCK_DAY = date(2025, 11, 5)
DAY_MS = 86_400_000

# Exchange market id -> the knowledge/prices symbol whose bars it serves.
BINANCE_SPOT = {"BTCUSDT": "BTC", "ETHUSDT": "ETH", "SOLUSDT": "SOL"}
BINANCE_PERPETUALS = {"BTCUSDT": "BTC", "ETHUSDT": "ETH"}
KRAKEN_PAIRS = {"XXBTZUSD": "BTC", "XETHZUSD": "ETH", "SOLUSD": "SOL"}
# Funding and open interest are illustrative (the bundled history has neither); the mark price
# is the day's close.
FUNDING_RATE = {"BTCUSDT": "0.00005912", "ETHUSDT": "0.00003261"}
OPEN_INTEREST = {"BTCUSDT": "84512.307", "ETHUSDT": "2104516.321"}

# What a CDN in front of an exchange answers when the origin is down: 200, and not JSON.
GARBAGE_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Just a moment...</title></head>
<body><h1>Checking your browser before accessing the API.</h1>
<p>This process is automatic. Your browser will redirect shortly.</p></body></html>
"""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    at: float  # time.monotonic() when the request arrived


@dataclass(frozen=True)
class DailyBar:
    day: date
    open: float
    high: float
    low: float
    close: float
    volume: float

    @property
    def open_ms(self) -> int:
        return (
            int(datetime(self.day.year, self.day.month, self.day.day, tzinfo=UTC).timestamp())
            * 1000
        )

    @property
    def close_ms(self) -> int:
        return self.open_ms + DAY_MS - 1

    @property
    def vwap(self) -> float:
        # The CSV has no quote volume; the typical price stands in for the day's VWAP.
        return (self.high + self.low + self.close) / 3


@cache
def daily_bars(symbol: str) -> tuple[DailyBar, ...]:
    """knowledge/prices/<symbol>.csv, oldest first."""
    with (PRICES / f"{symbol}.csv").open(newline="") as handle:
        return tuple(
            DailyBar(
                date.fromisoformat(row["date"]),
                float(row["open"]),
                float(row["high"]),
                float(row["low"]),
                float(row["close"]),
                float(row["volume"]),
            )
            for row in csv.DictReader(handle)
        )


def bar_on(symbol: str, day: date) -> DailyBar:
    for bar in daily_bars(symbol):
        if bar.day == day:
            return bar
    raise KeyError(f"no {symbol} bar on {day}")


@cache
def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _p8(value: float) -> str:
    """Binance spot's number format: a string with 8 decimals."""
    return f"{value:.8f}"


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(data, separators=(",", ":")).encode(),
        status=status,
        headers={"Content-Type": "application/json;charset=UTF-8", **(headers or {})},
    )


@dataclass
class FakeExchange:
    """One exchange's public API; `base_url` is set once the server is listening."""

    exchange: str  # "binance" or "kraken"
    day: date = CLOCK_DAY
    mode: str = "ok"
    garbage: str = "html"  # or "truncated"
    slow_seconds: float = 60.0
    base_url: str = ""
    requests: list[Request] = field(default_factory=list)
    # Intraday prices for the watcher's tests: symbol -> [(ms, price), ...], oldest first, and
    # the clock they are read at (ms). With a path, the ticker's last price and the intraday
    # klines come from it; without, only daily klines are served.
    paths: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    now_ms: int = 0

    def __post_init__(self) -> None:
        if self.exchange not in ("binance", "kraken"):
            raise ValueError(f"no fake for {self.exchange!r}")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._release: asyncio.Event | None = None

    # -- what tests look at ------------------------------------------------------------------

    def set_mode(self, mode: str, garbage: str | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not one of {MODES}")
        self.mode = mode
        if garbage is not None:
            self.garbage = garbage

    def made(self, fragment: str = "") -> list[Request]:
        """The requests so far whose path contains `fragment`."""
        return [r for r in list(self.requests) if fragment in r.path]

    def wait_for(self, fragment: str, count: int = 1, timeout: float = 30.0) -> list[Request]:
        """Block until `count` requests to `fragment` have arrived (a hang guard, not a clock)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.made(fragment)
            if len(found) >= count:
                return found
            time.sleep(0.01)
        raise AssertionError(
            f"{self.exchange}: fewer than {count} {fragment} requests: {self.requests}"
        )

    # -- serving ---------------------------------------------------------------------------

    def start(self) -> FakeExchange:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"fake-{self.exchange}", daemon=True
        )
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(10)
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = None

    def __enter__(self) -> FakeExchange:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _serve(self) -> None:
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"

    async def _shutdown(self) -> None:
        assert self._release is not None and self._runner is not None
        self._release.set()  # slow handlers answer now, to nobody
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            Request(request.method, request.path, dict(request.query), time.monotonic())
        )
        mode = self.mode
        if mode == "slow":
            assert self._release is not None
            with contextlib.suppress(TimeoutError):  # answer at last, to nobody
                await asyncio.wait_for(self._release.wait(), self.slow_seconds)
        elif mode == "429":
            return self._rate_limited()
        routes = _BINANCE_ROUTES if self.exchange == "binance" else _KRAKEN_ROUTES
        route = routes.get((request.method, request.path))
        if route is None:
            return web.Response(status=404, text="404 Not Found", content_type="text/html")
        response = route(self, request.query)
        if mode == "garbage":
            return self._garbage(response)
        return response

    def _rate_limited(self) -> web.Response:
        if self.exchange == "binance":
            # Binance: HTTP 429, code -1003, and how long to back off in Retry-After.
            return _json(fixture("binance_error_429.json"), 429, {"Retry-After": "120"})
        return _json({"error": ["EGeneral:Too many requests"]}, 429, {"Retry-After": "120"})

    def _garbage(self, response: web.Response) -> web.Response:
        if self.garbage == "truncated":
            body = bytes(response.body or b"")  # type: ignore[arg-type]
            return web.Response(
                body=body[: max(1, len(body) // 2)],
                headers={"Content-Type": "application/json;charset=UTF-8"},
            )
        return web.Response(text=GARBAGE_HTML, content_type="text/html")

    # -- binance -----------------------------------------------------------------------------

    def _bars(self, symbol: str) -> list[DailyBar]:
        return [b for b in daily_bars(symbol) if b.day <= self.day]

    def binance_time(self, query: Any) -> web.Response:
        return _json({"serverTime": bar_on("BTC", self.day).close_ms})

    def binance_exchange_info(self, query: Any) -> web.Response:
        info = copy.deepcopy(fixture("binance_exchangeInfo.json"))
        info["serverTime"] = bar_on("BTC", self.day).close_ms
        return _json(info)

    def binance_fapi_exchange_info(self, query: Any) -> web.Response:
        info = copy.deepcopy(fixture("binance_fapi_exchangeInfo.json"))
        info["serverTime"] = bar_on("BTC", self.day).close_ms
        return _json(info)

    def binance_ticker_24hr(self, query: Any) -> web.Response:
        symbol = query.get("symbol")
        if symbol is None:
            return _json([self._binance_ticker(s) for s in BINANCE_SPOT])
        if symbol not in BINANCE_SPOT:
            return _json({"code": -1121, "msg": "Invalid symbol."}, 400)
        return _json(self._binance_ticker(symbol))

    def _binance_ticker(self, symbol: str) -> dict[str, Any]:
        asset = BINANCE_SPOT[symbol]
        bar = bar_on(asset, self.day)
        if asset in self.paths:  # the day's bar, ending at the path's price now
            price = self.price_at(asset, self.now_ms)
            bar = DailyBar(
                bar.day, bar.open, max(bar.high, price), min(bar.low, price), price, bar.volume
            )
        previous = bar_on(asset, self.day - timedelta(days=1))
        change = bar.close - bar.open
        trades = int(bar.volume) // 7 + 1
        first_id = 4_800_000_000 + bar.open_ms // DAY_MS * 1000
        values = {
            "symbol": symbol,
            "priceChange": _p8(change),
            "priceChangePercent": f"{100 * change / bar.open:.3f}",
            "weightedAvgPrice": _p8(bar.vwap),
            "prevClosePrice": _p8(previous.close),
            "lastPrice": _p8(bar.close),
            "lastQty": _p8(0.0123),
            "bidPrice": _p8(bar.close - 0.01),
            "bidQty": _p8(12.3456),
            "askPrice": _p8(bar.close),
            "askQty": _p8(4.5678),
            "openPrice": _p8(bar.open),
            "highPrice": _p8(bar.high),
            "lowPrice": _p8(bar.low),
            "volume": _p8(bar.volume),
            "quoteVolume": _p8(bar.volume * bar.vwap),
            "openTime": bar.open_ms,
            "closeTime": bar.close_ms,
            "firstId": first_id,
            "lastId": first_id + trades - 1,
            "count": trades,
        }
        template = fixture("binance_ticker_24hr.json")
        assert set(values) == set(template), "the ticker must keep Binance's documented fields"
        return {key: values[key] for key in template}

    def binance_klines(self, query: Any) -> web.Response:
        symbol = query.get("symbol")
        if symbol not in BINANCE_SPOT:
            return _json({"code": -1121, "msg": "Invalid symbol."}, 400)
        interval = query.get("interval")
        if interval in INTRADAY_MS and BINANCE_SPOT[symbol] in self.paths:
            return self._intraday_klines(BINANCE_SPOT[symbol], INTRADAY_MS[interval], query)
        if interval != "1d":
            return _json({"code": -1120, "msg": "Invalid interval."}, 400)
        limit = min(int(query.get("limit", 500)), 1000)
        bars = self._bars(BINANCE_SPOT[symbol])
        if "startTime" in query:
            bars = [b for b in bars if b.open_ms >= int(query["startTime"])]
        if "endTime" in query:
            bars = [b for b in bars if b.open_ms <= int(query["endTime"])]
        bars = bars[:limit] if "startTime" in query else bars[-limit:]
        width = len(fixture("binance_klines.json")[0])
        rows = []
        for bar in bars:
            trades = int(bar.volume) // 7 + 1
            row = [
                bar.open_ms,
                _p8(bar.open),
                _p8(bar.high),
                _p8(bar.low),
                _p8(bar.close),
                _p8(bar.volume),
                bar.close_ms,
                _p8(bar.volume * bar.vwap),
                trades,
                _p8(bar.volume / 2),
                _p8(bar.volume / 2 * bar.vwap),
                "0",
            ]
            assert len(row) == width
            rows.append(row)
        return _json(rows)

    def price_at(self, symbol: str, ms: int) -> float:
        """The path's price at `ms`: the last point at or before it (the first before all)."""
        path = self.paths[symbol]
        before = [price for stamp, price in path if stamp <= ms]
        return before[-1] if before else path[0][1]

    def _intraday_klines(self, symbol: str, width: int, query: Any) -> web.Response:
        """Candles of `width` ms built from the symbol's path, none opening after the clock;
        the last one is still open (its close is the price now), as Binance serves it."""
        limit = min(int(query.get("limit", 500)), 1000)
        start = int(query.get("startTime", self.now_ms - limit * width)) // width * width
        rows = []
        for opened in range(start, self.now_ms + 1, width):
            end = min(opened + width - 1, self.now_ms)
            inside = [p for t, p in self.paths[symbol] if opened <= t <= end]
            first, last = self.price_at(symbol, opened), self.price_at(symbol, end)
            high, low = max([first, last, *inside]), min([first, last, *inside])
            rows.append(
                [
                    opened,
                    _p8(first),
                    _p8(high),
                    _p8(low),
                    _p8(last),
                    _p8(100.0),
                    opened + width - 1,
                    _p8(100.0 * last),
                    10,
                    _p8(50.0),
                    _p8(50.0 * last),
                    "0",
                ]
            )
        return _json(rows[:limit])

    def binance_premium_index(self, query: Any) -> web.Response:
        symbol = query.get("symbol")
        if symbol is None:
            return _json([self._premium_index(s) for s in BINANCE_PERPETUALS])
        if symbol not in BINANCE_PERPETUALS:
            return _json({"code": -1121, "msg": "Invalid symbol."}, 400)
        return _json(self._premium_index(symbol))

    def _premium_index(self, symbol: str) -> dict[str, Any]:
        bar = bar_on(BINANCE_PERPETUALS[symbol], self.day)
        values = {
            "symbol": symbol,
            "markPrice": _p8(bar.close),
            "indexPrice": _p8(bar.close - 0.35),
            "estimatedSettlePrice": _p8(bar.close - 0.41),
            "lastFundingRate": FUNDING_RATE[symbol],
            "interestRate": "0.00010000",
            "nextFundingTime": bar.close_ms + 1,
            "time": bar.close_ms,
        }
        template = fixture("binance_fapi_premiumIndex.json")
        assert set(values) == set(template)
        return {key: values[key] for key in template}

    def binance_open_interest(self, query: Any) -> web.Response:
        symbol = query.get("symbol")
        if symbol not in BINANCE_PERPETUALS:
            return _json({"code": -1121, "msg": "Invalid symbol."}, 400)
        values = {
            "openInterest": OPEN_INTEREST[symbol],
            "symbol": symbol,
            "time": bar_on(BINANCE_PERPETUALS[symbol], self.day).close_ms,
        }
        template = fixture("binance_fapi_openInterest.json")
        assert set(values) == set(template)
        return _json({key: values[key] for key in template})

    # -- kraken ------------------------------------------------------------------------------

    def kraken_time(self, query: Any) -> web.Response:
        seconds = bar_on("BTC", self.day).close_ms // 1000
        stamp = datetime.fromtimestamp(seconds, UTC).strftime("%a, %d %b %y %H:%M:%S +0000")
        return _json({"error": [], "result": {"unixtime": seconds, "rfc1123": stamp}})

    def kraken_asset_pairs(self, query: Any) -> web.Response:
        return _json(fixture("kraken_AssetPairs.json"))

    def kraken_assets(self, query: Any) -> web.Response:
        return _json(fixture("kraken_Assets.json"))

    def kraken_ticker(self, query: Any) -> web.Response:
        pairs = [p for p in query.get("pair", "").split(",") if p]
        if not pairs or any(p not in KRAKEN_PAIRS for p in pairs):
            return _json({"error": ["EQuery:Unknown asset pair"]})
        return _json({"error": [], "result": {p: self._kraken_ticker(p) for p in pairs}})

    def _kraken_ticker(self, pair: str) -> dict[str, Any]:
        bar = bar_on(KRAKEN_PAIRS[pair], self.day)
        price, volume = f"{bar.close:.5f}", f"{bar.volume:.8f}"
        trades = int(bar.volume) // 11 + 1
        values = {
            "a": [f"{bar.close + 0.01:.5f}", "3", "3.000"],
            "b": [price, "1", "1.000"],
            "c": [price, "0.06000000"],
            "v": [volume, volume],
            "p": [f"{bar.vwap:.5f}", f"{bar.vwap:.5f}"],
            "t": [trades, trades],
            "l": [f"{bar.low:.5f}", f"{bar.low:.5f}"],
            "h": [f"{bar.high:.5f}", f"{bar.high:.5f}"],
            "o": f"{bar.open:.5f}",
        }
        [template] = fixture("kraken_Ticker.json")["result"].values()
        assert set(values) == set(template)
        return values

    def kraken_ohlc(self, query: Any) -> web.Response:
        pair = query.get("pair")
        if pair not in KRAKEN_PAIRS:
            return _json({"error": ["EQuery:Unknown asset pair"]})
        if query.get("interval", "1") != "1440":
            return _json({"error": ["EGeneral:Invalid arguments"]})
        bars = self._bars(KRAKEN_PAIRS[pair])
        if "since" in query:
            bars = [b for b in bars if b.open_ms // 1000 > int(query["since"])]
        bars = bars[-720:]  # Kraken serves at most 720 candles
        rows = [
            [
                b.open_ms // 1000,
                f"{b.open:.5f}",
                f"{b.high:.5f}",
                f"{b.low:.5f}",
                f"{b.close:.5f}",
                f"{b.vwap:.5f}",
                f"{b.volume:.8f}",
                int(b.volume) // 11 + 1,
            ]
            for b in bars
        ]
        [[sample, *_]] = [
            v for k, v in fixture("kraken_OHLC.json")["result"].items() if k != "last"
        ]
        assert all(len(row) == len(sample) for row in rows)
        last = rows[-1][0] if rows else int(query.get("since", 0))
        return _json({"error": [], "result": {pair: rows, "last": last}})


_BINANCE_ROUTES = {
    ("GET", "/api/v3/time"): FakeExchange.binance_time,
    ("GET", "/api/v3/exchangeInfo"): FakeExchange.binance_exchange_info,
    ("GET", "/api/v3/ticker/24hr"): FakeExchange.binance_ticker_24hr,
    ("GET", "/api/v3/klines"): FakeExchange.binance_klines,
    ("GET", "/fapi/v1/time"): FakeExchange.binance_time,
    ("GET", "/fapi/v1/exchangeInfo"): FakeExchange.binance_fapi_exchange_info,
    ("GET", "/fapi/v1/premiumIndex"): FakeExchange.binance_premium_index,
    ("GET", "/fapi/v1/openInterest"): FakeExchange.binance_open_interest,
}
_KRAKEN_ROUTES = {
    ("GET", "/0/public/Time"): FakeExchange.kraken_time,
    ("GET", "/0/public/AssetPairs"): FakeExchange.kraken_asset_pairs,
    ("GET", "/0/public/Assets"): FakeExchange.kraken_assets,
    ("GET", "/0/public/Ticker"): FakeExchange.kraken_ticker,
    ("GET", "/0/public/OHLC"): FakeExchange.kraken_ohlc,
}


def ms(moment: datetime) -> int:
    """A time as exchanges write it: milliseconds since the epoch."""
    return int(moment.timestamp() * 1000)


class ScriptedMarket:
    """A fake exchange's intraday prices and clock, moved by a test: ETH, BTC and SOL flat
    for two days before `start`, then whatever `at` says."""

    def __init__(self, fake: FakeExchange, start: datetime) -> None:
        self.fake = fake
        self.start = self.now = start
        fake.now_ms = ms(start)
        for symbol, price in (("ETH", 3000.0), ("BTC", 100_000.0), ("SOL", 160.0)):
            fake.paths[symbol] = [(ms(start - timedelta(days=2)), price)]

    def at(self, minutes: float, eth: float | None = None) -> None:
        """Move the clock to `start` + minutes; ETH trades at `eth` from then on."""
        self.now = self.start + timedelta(minutes=minutes)
        self.fake.now_ms = ms(self.now)
        if eth is not None:
            self.fake.paths["ETH"].append((self.fake.now_ms, eth))
