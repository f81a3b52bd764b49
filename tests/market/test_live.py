"""LiveMarket against local fakes of Binance's and Kraken's public REST APIs: real ccxt clients,
real HTTP on 127.0.0.1, the exchanges' own response shapes (tests/exchange_fake.py).

What is asserted is what a user would notice: the numbers and names in a quote, which exchange
answered, and, through the fakes' request logs, whether an exchange that failed is left alone
and whether a fresh quote costs a request. No test measures time; the timeouts below only stop
a broken build from hanging.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pytest

from bot.market import live
from bot.market.history import Bar
from bot.market.live import LiveMarket
from tests.exchange_fake import FakeExchange

TIMEOUT = 1.0  # the ccxt request timeout; a "slow" fake answers after 60 s
DEADLINE = 30.0  # generous: a Kraken round trip waits on ccxt's 1 s rate limiter

BINANCE_TICKER = "/api/v3/ticker/24hr"
KRAKEN_TICKER = "/0/public/Ticker"

MakeMarket = Callable[..., LiveMarket]


@pytest.fixture
def binance() -> Iterator[FakeExchange]:
    with FakeExchange("binance") as fake:
        yield fake


@pytest.fixture
def kraken() -> Iterator[FakeExchange]:
    with FakeExchange("kraken") as fake:
        yield fake


@pytest.fixture
def make_market(binance: FakeExchange, kraken: FakeExchange) -> Iterator[MakeMarket]:
    """LiveMarkets pointed at the fakes, closed before the fakes stop."""
    markets: list[LiveMarket] = []

    def make(exchanges: tuple[str, ...] = ("binance",), *, ttl: float = 30.0) -> LiveMarket:
        urls = {"binance": binance.base_url, "kraken": kraken.base_url}
        market = LiveMarket(list(exchanges), urls, timeout=TIMEOUT, ttl=ttl)
        markets.append(market)
        return market

    yield make
    for market in markets:
        market.close()


# -- what one exchange serves ----------------------------------------------------------------


def test_a_binance_ticker_carries_the_days_numbers_and_when_they_are_from(
    make_market: MakeMarket,
) -> None:
    market = make_market()

    quote = market.run(market.ticker("ETH"), DEADLINE)

    assert quote is not None
    assert (quote.symbol, quote.pair, quote.exchange) == ("ETH", "ETH/USDT", "Binance")
    # ETH/USDT on 2025-11-05 (UTC), the fake's "today": open 3287.05 -> last 3424.29.
    assert quote.price == 3424.29
    assert quote.change_pct == pytest.approx(4.175)  # Binance's own priceChangePercent
    assert (quote.high, quote.low) == (3480.46, 3166.66)
    assert quote.quote_volume == pytest.approx(2_717_909_353.99, abs=0.01)
    assert quote.as_of == datetime(2025, 11, 5, 23, 59, 59, tzinfo=UTC)  # the ticker's closeTime
    assert market.cached_ticker("ETH") == quote


def test_daily_returns_binances_real_candles_for_the_days_asked(
    make_market: MakeMarket, binance: FakeExchange
) -> None:
    market = make_market()

    bars = market.run(market.daily("ETH", date(2025, 11, 3), 3), DEADLINE)

    assert bars == [
        Bar(date(2025, 11, 3), 3906.58, 3914.29, 3558.82, 3603.83, 877187.3852),
        Bar(date(2025, 11, 4), 3603.84, 3654.54, 3057.00, 3287.05, 1568004.2379),
        Bar(date(2025, 11, 5), 3287.05, 3480.46, 3166.66, 3424.29, 809591.5132),
    ]
    [klines] = binance.made("/api/v3/klines")
    assert klines.query["symbol"] == "ETHUSDT"
    assert klines.query["interval"] == "1d"


def test_derivatives_give_the_perpetuals_funding_rate_and_open_interest_in_dollars(
    make_market: MakeMarket, binance: FakeExchange
) -> None:
    market = make_market()

    eth = market.run(market.derivatives("ETH"), DEADLINE)

    assert eth is not None
    assert (eth.symbol, eth.pair, eth.exchange) == ("ETH", "ETH/USDT:USDT", "Binance")
    assert eth.funding_rate == pytest.approx(0.00003261)
    # 2,104,516.321 ETH of open interest at the 3424.29 mark price.
    assert eth.open_interest_usd == pytest.approx(2_104_516.321 * 3424.29)
    [funding] = binance.made("/fapi/v1/premiumIndex")
    [interest] = binance.made("/fapi/v1/openInterest")
    assert funding.query["symbol"] == interest.query["symbol"] == "ETHUSDT"


def test_an_asset_without_a_perpetual_has_no_derivatives_and_costs_no_request(
    make_market: MakeMarket, binance: FakeExchange
) -> None:
    market = make_market()

    assert market.run(market.derivatives("SOL"), DEADLINE) is None  # SOL is spot-only here
    assert binance.made("/fapi/v1/premiumIndex") == []
    assert binance.made("/fapi/v1/openInterest") == []


def test_an_asset_no_exchange_lists_is_none_without_asking_for_a_ticker(
    make_market: MakeMarket, binance: FakeExchange, kraken: FakeExchange
) -> None:
    market = make_market(("binance", "kraken"))

    assert market.run(market.ticker("SPY"), DEADLINE) is None

    assert binance.made("/exchangeInfo")  # the market lists were read ...
    assert kraken.made("/0/public/AssetPairs")
    assert binance.made(BINANCE_TICKER) == []  # ... and no ticker was asked for
    assert kraken.made(KRAKEN_TICKER) == []
    assert market.cached_ticker("SPY") is None


# -- the cache -------------------------------------------------------------------------------


def test_a_second_ticker_within_the_ttl_is_served_from_the_cache(
    make_market: MakeMarket, binance: FakeExchange
) -> None:
    market = make_market(ttl=30.0)

    first = market.run(market.ticker("ETH"), DEADLINE)
    second = market.run(market.ticker("ETH"), DEADLINE)

    assert first is not None
    assert second == first
    assert len(binance.made(BINANCE_TICKER)) == 1


def test_with_no_ttl_every_ticker_is_a_request(
    make_market: MakeMarket, binance: FakeExchange
) -> None:
    market = make_market(ttl=0)

    first = market.run(market.ticker("ETH"), DEADLINE)
    second = market.run(market.ticker("ETH"), DEADLINE)

    assert first is not None and second is not None
    assert second.price == first.price
    assert len(binance.made(BINANCE_TICKER)) == 2
    assert len(binance.made("/api/v3/exchangeInfo")) == 1  # the market list is read once


# -- failing exchanges -----------------------------------------------------------------------

FAILURES = [
    pytest.param("429", "html", id="429"),
    pytest.param("garbage", "html", id="garbage-html"),
    pytest.param("garbage", "truncated", id="garbage-truncated-json"),
    pytest.param("slow", "html", id="slow"),
]


@pytest.mark.parametrize(("mode", "garbage"), FAILURES)
def test_a_failing_ticker_falls_back_to_kraken_and_binance_is_left_alone_while_it_rests(
    make_market: MakeMarket,
    binance: FakeExchange,
    kraken: FakeExchange,
    mode: str,
    garbage: str,
) -> None:
    market = make_market(("binance", "kraken"), ttl=0)
    before = market.run(market.ticker("ETH"), DEADLINE)
    assert before is not None and before.exchange == "Binance"
    binance.set_mode(mode, garbage)

    fallback = market.run(market.ticker("ETH"), DEADLINE)
    again = market.run(market.ticker("ETH"), DEADLINE)

    assert fallback is not None and again is not None
    assert (fallback.exchange, fallback.pair, fallback.price) == ("Kraken", "ETH/USD", 3424.29)
    assert (again.exchange, again.pair) == ("Kraken", "ETH/USD")
    assert len(binance.made(BINANCE_TICKER)) == 2  # the good one and the failed one, no third
    assert len(kraken.made(KRAKEN_TICKER)) == 2


@pytest.mark.parametrize(("mode", "garbage"), FAILURES)
def test_an_exchange_failing_from_the_start_is_skipped_and_not_asked_again_while_it_rests(
    make_market: MakeMarket,
    binance: FakeExchange,
    kraken: FakeExchange,
    mode: str,
    garbage: str,
) -> None:
    binance.set_mode(mode, garbage)
    market = make_market(("binance", "kraken"), ttl=0)

    first = market.run(market.ticker("ETH"), DEADLINE)
    asked = len(binance.requests)
    second = market.run(market.ticker("ETH"), DEADLINE)

    assert first is not None and second is not None
    assert (first.exchange, first.pair) == ("Kraken", "ETH/USD")
    assert (second.exchange, second.pair) == ("Kraken", "ETH/USD")
    assert binance.made("/api/v3/exchangeInfo")  # it was tried once ...
    assert len(binance.requests) == asked  # ... and not again while it rests
    assert binance.made(BINANCE_TICKER) == []


@pytest.mark.parametrize(
    ("mode", "garbage"),
    [
        pytest.param("429", "html", id="429"),
        pytest.param("garbage", "html", id="garbage-html"),
        pytest.param("garbage", "truncated", id="garbage-truncated-json"),
        pytest.param("slow", "html", id="slow"),
    ],
)
def test_an_exchange_that_failed_from_the_start_is_used_again_once_its_rest_is_over(
    monkeypatch: pytest.MonkeyPatch,
    make_market: MakeMarket,
    binance: FakeExchange,
    mode: str,
    garbage: str,
) -> None:
    # Rests of zero seconds: "once the rest is over" without waiting for it.
    monkeypatch.setattr(live, "FAILED_REST", 0.0)
    monkeypatch.setattr(live, "RATE_LIMITED_REST", 0.0)
    binance.set_mode(mode, garbage)
    market = make_market(("binance", "kraken"), ttl=0)
    during = market.run(market.ticker("ETH"), DEADLINE)
    assert during is not None and during.exchange == "Kraken"

    binance.set_mode("ok")
    after = market.run(market.ticker("ETH"), DEADLINE)

    assert after is not None
    assert (after.exchange, after.pair) == ("Binance", "ETH/USDT")
    assert len(binance.made(BINANCE_TICKER)) == 1


def test_a_slow_exchange_misses_the_deadline_then_the_next_call_goes_to_kraken(
    make_market: MakeMarket, binance: FakeExchange, kraken: FakeExchange
) -> None:
    binance.set_mode("slow")
    market = make_market(("binance", "kraken"), ttl=0)

    # The deadline is shorter than the client timeout: the caller gets None, not a hang.
    assert market.run(market.ticker("ETH"), TIMEOUT / 4) is None
    # The late call carries on in the background: Binance times out, Kraken is asked.
    kraken.wait_for(KRAKEN_TICKER, timeout=DEADLINE)
    asked = len(binance.requests)

    later = market.run(market.ticker("ETH"), DEADLINE)

    assert later is not None
    assert (later.exchange, later.pair) == ("Kraken", "ETH/USD")
    assert len(binance.requests) == asked  # Binance, resting, was not waited on again
    # A second ticker request, or the background one joined while its answer was on the way
    # (on a busy machine it may still be): never Binance again.
    assert 1 <= len(kraken.made(KRAKEN_TICKER)) <= 2


def test_daily_candles_fall_back_to_kraken_when_binance_is_rate_limited(
    make_market: MakeMarket, binance: FakeExchange, kraken: FakeExchange
) -> None:
    binance.set_mode("429")
    market = make_market(("binance", "kraken"))

    bars = market.run(market.daily("ETH", date(2025, 11, 4), 1), DEADLINE)

    assert bars == [Bar(date(2025, 11, 4), 3603.84, 3654.54, 3057.00, 3287.05, 1568004.2379)]
    assert kraken.made("/0/public/OHLC")[0].query["pair"] == "XETHZUSD"


def test_when_every_exchange_fails_the_ticker_is_none_and_the_last_reading_is_kept(
    make_market: MakeMarket, binance: FakeExchange, kraken: FakeExchange
) -> None:
    market = make_market(("binance", "kraken"), ttl=0)
    good = market.run(market.ticker("ETH"), DEADLINE)
    assert good is not None and good.exchange == "Binance"
    binance.set_mode("429")
    kraken.set_mode("garbage")

    assert market.run(market.ticker("ETH"), DEADLINE) is None

    assert market.cached_ticker("ETH") == good
    assert kraken.made("/0/public/AssetPairs")  # Kraken was tried too


def test_an_unreadable_funding_reply_is_no_answer_and_rests_the_exchange(
    make_market: MakeMarket, binance: FakeExchange
) -> None:
    market = make_market(ttl=0)
    assert market.run(market.ticker("ETH"), DEADLINE) is not None  # markets loaded, all well
    binance.set_mode("garbage")

    first = market.run(market.derivatives("ETH"), DEADLINE)
    asked = len(binance.requests)
    second = market.run(market.derivatives("ETH"), DEADLINE)

    assert first is None
    assert second is None
    assert len(binance.requests) == asked  # Binance rests after the reply it could not read


def test_replies_with_impossible_numbers_are_dropped_not_raised() -> None:
    from bot.market.live import _bars, _ticker

    class Client:
        name = "Binance"

    rows = [
        [1762214400000, 3603.84, 3654.54, 3057.0, 3287.05, 1.0],  # 4 Nov 2025: kept
        [1e20, 1, 2, 0.5, 1.5, 1.0],  # a timestamp in the year 3 billion
        [1762300800000, "nan", 2, 1, 1.5, 1.0],
        [1762387200000, 0, 0, 0, 0, 0],
        [1762473600000, 10, 5, 20, 12, 1.0],  # low above high
        "garbage",
    ]
    assert [b.day.isoformat() for b in _bars(rows)] == ["2025-11-04"]
    ticker = _ticker("ETH", "ETH/USDT", Client(), {"last": 3287.05, "timestamp": 1e20})
    assert ticker is not None and ticker.as_of.year >= 2026  # read time, not the bogus stamp
    assert _ticker("ETH", "ETH/USDT", Client(), {"last": "nan"}) is None
