"""The figures an answer shows, as people read them: the price with its source and time (the
snapshot's close labelled so), the day's move from its open and from the previous session's
open, the market's move beside it, a perpetual's metrics; and their JSON, which carries the
numbers the text shows. Offline: MarketData without live data, over the bundled snapshot or
over bars written for the test."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.core.assets import AssetTable
from bot.core.question import parse
from bot.errors import InputError, NotFoundError
from bot.market.figures import (
    DayMove,
    DerivativesFigure,
    MarketContext,
    MarketData,
    Quote,
    money,
    plain,
    signed,
)
from bot.market.history import Bar, PriceHistory
from bot.market.live import Derivatives
from bot.settings import PROJECT_ROOT

PRICES = PROJECT_ROOT / "knowledge" / "prices"
CRASH = date(2025, 11, 4)
READ_AT = datetime(2025, 11, 4, 15, 30, tzinfo=UTC)
MINUS = "\u2212"  # a true minus sign, as typeset, not a hyphen

Row = tuple[str, float, float, float, float]  # day, open, high, low, close


@pytest.fixture(scope="module")
def assets() -> AssetTable:
    return AssetTable.load(PROJECT_ROOT / "knowledge" / "assets.json")


@pytest.fixture(scope="module")
def snapshot(assets: AssetTable, tmp_path_factory: pytest.TempPathFactory) -> MarketData:
    """The bundled price snapshot, no exchange."""
    history = PriceHistory(PRICES, tmp_path_factory.mktemp("no-imports"))
    return MarketData(history, None, assets)


MakeMarket = Callable[[Mapping[str, Sequence[Row]]], MarketData]


@pytest.fixture
def market(assets: AssetTable, tmp_path: Path) -> MakeMarket:
    """MarketData over daily bars written for the test (one CSV per symbol), no exchange."""

    def make(series: Mapping[str, Sequence[Row]]) -> MarketData:
        folder = tmp_path / "prices"
        folder.mkdir()
        manifest = {}
        for symbol, rows in series.items():
            lines = ["date,open,high,low,close,volume"]
            lines += [f"{d},{o},{h},{lo},{c},1000" for d, o, h, lo, c in rows]
            (folder / f"{symbol}.csv").write_text("\n".join(lines) + "\n")
            manifest[symbol] = {"file": f"{symbol}.csv", "source": f"test {symbol} bars"}
        (folder / "manifest.json").write_text(json.dumps(manifest))
        return MarketData(PriceHistory(folder, tmp_path / "no-imports"), None, assets)

    return make


def snapshot_bar(symbol: str, day: str | None = None) -> Bar:
    """A bar of the bundled snapshot, read from its CSV: the newest one unless a day is given."""
    with (PRICES / f"{symbol}.csv").open() as rows:
        found = [r for r in csv.DictReader(rows) if day is None or r["date"] == day]
    row = found[-1]
    return Bar(
        date.fromisoformat(row["date"]),
        *(float(row[k]) for k in ("open", "high", "low", "close", "volume")),
    )


def question(text: str, assets: AssetTable) -> object:
    return parse(text, assets, date(2025, 11, 6))


# -- how numbers are written ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (106583.05, "106,583.05"),
        (3603.84, "3,603.84"),
        (1000, "1,000.00"),
        (999.5, "999.50"),
        (12.5, "12.50"),
        (1, "1.00"),
        (0.1652, "0.1652"),
        (0.5, "0.5000"),
        (0.00001234, "0.00001234"),  # a meme coin: never 1.234e-05
        (0.000001, "0.000001000"),
        (0, "0.00"),
    ],
)
def test_prices_are_written_as_people_write_them(value: float, written: str) -> None:
    assert plain(value) == written
    assert money(value) == f"${written}"


def test_a_price_that_rounds_up_to_a_thousand_is_written_with_its_separator() -> None:
    assert plain(999.996) == "1,000.00"


@pytest.mark.parametrize(
    ("value", "written"),
    [(8.2e9, "$8.20bn"), (3.4e7, "$34.0m"), (999_999.0, "$999,999.00"), (1e6, "$1.0m")],
)
def test_large_sums_are_written_short_where_asked(value: float, written: str) -> None:
    assert money(value, compact=True) == written
    assert money(8.2e9) == "$8,200,000,000.00"  # in full unless asked


@pytest.mark.parametrize(
    ("change", "written"),
    [(None, "n/a"), (4.56, "+4.6%"), (-15.86, f"{MINUS}15.9%"), (0.0, "+0.0%")],
)
def test_a_change_is_written_with_its_sign_or_as_not_available(
    change: float | None, written: str
) -> None:
    assert signed(change) == written


# -- the price -----------------------------------------------------------------------------


def test_without_an_exchange_the_price_is_the_snapshots_last_close_labelled_so(
    snapshot: MarketData,
) -> None:
    bar = snapshot_bar("ETH")
    change = (bar.close - bar.open) / bar.open * 100

    quote, others = snapshot.price("ether", 1.0)

    assert others == []  # no perpetual's metrics without a live exchange
    assert quote.symbol == "ETH" and quote.status == "snapshot"
    assert quote.label == "ETH price"
    assert quote.text == (
        f"${bar.close:,.2f} at the close of {bar.day:%-d %b %Y}, "
        f"{'+' if change >= 0 else MINUS}{abs(change):.1f}% that day "
        "(snapshot: Binance spot ETH/USDT daily klines (UTC); no live price)"
    )
    data = quote.to_json()
    assert data["text"] == quote.text
    assert data["price"] == bar.close and (data["high"], data["low"]) == (bar.high, bar.low)
    assert data["change_pct_24h"] == round(change, 2)
    assert data["as_of"] == f"{bar.day.isoformat()}T00:00:00Z"
    assert data["status"] == "snapshot"
    assert data["source"] == "Binance spot ETH/USDT daily klines (UTC)"


@pytest.mark.parametrize(
    ("word", "symbol"), [("$SPY", "SPY"), ("Ethereum", "ETH"), (" btc ", "BTC"), ("coin", "COIN")]
)
def test_an_asset_is_priced_by_any_of_its_names(
    snapshot: MarketData, word: str, symbol: str
) -> None:
    quote, _ = snapshot.price(word, 1.0)

    assert quote.symbol == symbol
    assert quote.price == snapshot_bar(symbol).close


def test_an_asset_without_any_price_is_refused_by_name(snapshot: MarketData) -> None:
    with pytest.raises(NotFoundError, match="I have no price for TRX, live or in the snapshot"):
        snapshot.price("tron", 1.0)
    with pytest.raises(InputError, match="I don't know the asset 'floopcoin'"):
        snapshot.price("floopcoin", 1.0)
    with pytest.raises(InputError) as refused:
        snapshot.price("x" * 500, 1.0)
    assert len(str(refused.value)) < 150  # what was typed is repeated, cut short


def test_a_ticker_only_the_price_data_knows_is_priced(market: MakeMarket) -> None:
    data = market({"XYZ": [("2025-11-04", 2.0, 2.2, 1.9, 2.1)]})

    quote, _ = data.price("xyz", 1.0)

    assert quote.symbol == "XYZ" and quote.price == 2.1
    assert quote.text.startswith("$2.10 at the close of 4 Nov 2025, +5.0% that day ")


def test_a_live_quote_says_where_and_when_it_was_read() -> None:
    live = Quote("ETH", 3287.05, -8.79, "Binance ETH/USDT", READ_AT, "live", 3654.54, 3057.0)
    last = Quote("ETH", 3287.05, None, "Kraken ETH/USD", READ_AT, "last_known")

    assert live.text == f"$3,287.05, {MINUS}8.8% in 24h (Binance ETH/USDT, read 4 Nov 15:30 UTC)"
    assert last.text == "$3,287.05 (Kraken ETH/USD, last known, read 4 Nov 15:30 UTC)"
    data = live.to_json()
    assert data["text"] == live.text
    assert (data["price"], data["change_pct_24h"]) == (3287.05, -8.79)
    assert data["as_of"] == "2025-11-04T15:30:00Z" and data["status"] == "live"
    assert last.to_json()["change_pct_24h"] is None


def test_a_snapshot_close_without_a_change_says_only_what_it_knows() -> None:
    quote = Quote("XYZ", 0.00001234, None, "test bars", READ_AT, "snapshot")

    assert (
        quote.text == "$0.00001234 at the close of 4 Nov 2025 (snapshot: test bars; no live price)"
    )


# -- the day's move ------------------------------------------------------------------------


def test_a_days_move_gives_its_bar_and_the_move_from_the_previous_open() -> None:
    previous = Bar(date(2025, 11, 3), 3906.58, 3914.29, 3558.82, 3603.83, 1.0)
    bar = Bar(CRASH, 3603.84, 3654.54, 3057.0, 3287.05, 1.0)

    move = DayMove("ETH", bar, "test bars", previous)

    assert move.label == "ETH on 4 Nov 2025"
    # (3287.05 - 3603.84) / 3603.84 = -8.79%; from the 3 Nov open 3906.58: -15.86%.
    assert move.text == (
        "fell 8.8% (open 3,603.84, low 3,057.00, high 3,654.54, close 3,287.05); "
        f"{MINUS}15.9% from the 3 Nov open (test bars)"
    )
    data = move.to_json()
    assert data["text"] == move.text
    assert (data["open"], data["high"], data["low"], data["close"]) == (
        3603.84,
        3654.54,
        3057.0,
        3287.05,
    )
    assert data["pct"] == -8.79 and data["from_previous_open_pct"] == -15.86
    assert data["day"] == "2025-11-04" and data["source"] == "test bars"


def test_a_rise_with_no_previous_session_near_gives_the_day_alone() -> None:
    move = DayMove("XYZ", Bar(CRASH, 0.00001, 0.0000115, 0.0000099, 0.0000112, 1.0), "test bars")

    assert move.text == (
        "rose 12.0% (open 0.00001000, low 0.000009900, high 0.00001150, close 0.00001120) "
        "(test bars)"
    )
    assert "from_previous_open_pct" not in move.to_json()
    assert move.to_json()["pct"] == 12.0


# -- the figures of an answer --------------------------------------------------------------


def test_an_answer_about_the_4_november_crash_shows_the_price_the_move_and_the_market(
    snapshot: MarketData, assets: AssetTable
) -> None:
    figures, premise = snapshot.for_answer(
        question("why did ETH fall 14% on 4 Nov 2025?", assets), [], CRASH, 0.0
    )

    assert [f.kind for f in figures] == ["quote", "move", "context"]
    quote, move, context = figures
    assert quote.to_json()["status"] == "snapshot"
    assert move.label == "ETH on 4 Nov 2025"
    # The bundled bars: ETH 3 Nov open 3906.58; 4 Nov open 3603.84, low 3057.00, high
    # 3654.54, close 3287.05. BTC 4 Nov open 106583.05, close 101497.22 (-4.77%).
    assert move.text == (
        "fell 8.8% (open 3,603.84, low 3,057.00, high 3,654.54, close 3,287.05); "
        f"{MINUS}15.9% from the 3 Nov open (Binance spot ETH/USDT daily klines (UTC))"
    )
    assert context.label == "Market on 4 Nov 2025"
    assert context.text == (
        f"BTC fell 4.8% the same day; ETH/BTC {MINUS}4.2%: market-wide, and ETH moved more "
        "than BTC (Binance spot BTC/USDT daily klines (UTC))"
    )
    assert premise is not None and premise.verdict == "consistent"
    for figure in figures:
        assert figure.to_json()["text"] == figure.text
        assert figure.to_json()["label"] == figure.label
    data = context.to_json()
    assert (data["benchmark"], data["day"]) == ("BTC", "2025-11-04")
    assert f"{abs(data['benchmark_pct']):.1f}%" in context.text
    assert signed(data["relative_pct"]) in context.text


def test_the_json_of_a_move_carries_the_numbers_its_text_shows(
    snapshot: MarketData, assets: AssetTable
) -> None:
    figures, _ = snapshot.for_answer(question("why did ETH fall on 4 Nov?", assets), [], CRASH, 0)
    [move] = [f.to_json() for f in figures if f.kind == "move"]
    bar = snapshot_bar("ETH", "2025-11-04")

    assert (move["open"], move["high"], move["low"], move["close"]) == (
        bar.open,
        bar.high,
        bar.low,
        bar.close,
    )
    for name in ("open", "low", "high", "close"):
        assert f"{name} {plain(move[name])}" in move["text"]
    assert f"fell {abs(move['pct']):.1f}%" in move["text"]
    assert f"{signed(move['from_previous_open_pct'])} from the 3 Nov open" in move["text"]


def day_of(own: float, market: float) -> dict[str, list[Row]]:
    """ETH and BTC bars for 3 and 4 Nov 2025, each moving the given % from open to close on
    the 4th."""

    def rows(start: float, change: float) -> list[Row]:
        close = start * (1 + change / 100)
        return [
            ("2025-11-03", start, start * 1.01, start * 0.99, start),
            ("2025-11-04", start, max(start, close) * 1.01, min(start, close) * 0.99, close),
        ]

    return {"ETH": rows(3000.0, own), "BTC": rows(100_000.0, market)}


@pytest.mark.parametrize(
    ("own", "benchmark", "reading"),
    [
        (-5.0, -0.5, "ETH's own move: the market barely moved"),
        (-5.0, -4.5, "a market-wide move"),
        (-9.0, -4.0, "market-wide, and ETH moved more than BTC"),
        (-2.0, -6.0, "ETH moved less than BTC"),
        (6.0, 5.5, "a market-wide move"),
    ],
)
def test_the_market_beside_a_move_says_whose_move_it_was(
    market: MakeMarket, assets: AssetTable, own: float, benchmark: float, reading: str
) -> None:
    data = market(day_of(own, benchmark))
    way = "fall" if own < 0 else "rise"

    figures, _ = data.for_answer(question(f"why did ETH {way} on 4 Nov?", assets), [], CRASH, 0)

    [context] = [f for f in figures if isinstance(f, MarketContext)]
    assert context.reading == reading
    assert context.text.startswith(
        f"BTC {'fell' if benchmark < 0 else 'rose'} {abs(benchmark):.1f}% the same day; ETH/BTC "
    )
    assert context.text.endswith(f": {reading} (test BTC bars)")


def test_an_asset_that_rose_while_the_market_fell_is_not_called_market_wide(
    market: MakeMarket, assets: AssetTable
) -> None:
    data = market(day_of(5.0, -3.0))

    figures, _ = data.for_answer(question("why did ETH rise on 4 Nov?", assets), [], CRASH, 0)

    [context] = [f for f in figures if isinstance(f, MarketContext)]
    assert "market-wide" not in context.reading
    assert "moved more than" not in context.reading


def test_a_stock_is_set_beside_spy_and_bitcoin_beside_nothing(
    market: MakeMarket, assets: AssetTable
) -> None:
    data = market(
        {
            "COIN": [("2025-11-03", 300, 303, 297, 300), ("2025-11-04", 300, 301, 280, 282)],
            "SPY": [("2025-11-03", 680, 683, 677, 680), ("2025-11-04", 680, 682, 677, 678)],
            "BTC": [("2025-11-03", 1e5, 1e5, 9e4, 1e5), ("2025-11-04", 1e5, 1e5, 9e4, 9.5e4)],
        }
    )

    coin, _ = data.for_answer(question("why did COIN fall on 4 Nov?", assets), [], CRASH, 0)
    btc, _ = data.for_answer(question("why did BTC fall on 4 Nov?", assets), [], CRASH, 0)

    [context] = [f for f in coin if isinstance(f, MarketContext)]
    assert context.benchmark == "SPY"
    assert context.reading == "COIN's own move: the market barely moved"  # -6% against -0.3%
    assert context.text.startswith(f"SPY fell 0.3% the same day; COIN/SPY {MINUS}5.7%: ")
    assert [f.kind for f in btc] == ["quote", "move"]


def test_the_move_from_the_previous_open_spans_a_weekend_but_not_a_longer_gap(
    market: MakeMarket, assets: AssetTable
) -> None:
    data = market(
        {
            # Friday 31 Oct, then Monday 3 Nov: one weekend apart.
            "COIN": [("2025-10-31", 320, 322, 309, 310), ("2025-11-03", 310, 312, 294, 295)],
            # 28 Oct, then nothing until 4 Nov: a week without bars.
            "ETH": [("2025-10-28", 4000, 4050, 3950, 4000), ("2025-11-04", 3600, 3650, 3050, 3300)],
        }
    )

    monday, _ = data.for_answer(
        question("why did COIN fall on 3 Nov?", assets), [], date(2025, 11, 3), 0
    )
    later, _ = data.for_answer(question("why did ETH fall on 4 Nov?", assets), [], CRASH, 0)

    [coin] = [f for f in monday if isinstance(f, DayMove)]
    assert coin.text.endswith(f"; {MINUS}7.8% from the 31 Oct open (test COIN bars)")
    assert coin.to_json()["from_previous_open_pct"] == -7.81  # 320 to 295
    [eth] = [f for f in later if isinstance(f, DayMove)]
    assert "from the" not in eth.text
    assert "from_previous_open_pct" not in eth.to_json()


def test_a_question_without_an_asset_or_a_day_market_data_covers_gets_no_move(
    snapshot: MarketData, assets: AssetTable
) -> None:
    assert snapshot.for_answer(question("why did crypto crash?", assets), [], CRASH, 0) == (
        [],
        None,
    )
    for day in (date(2008, 12, 31), date(2031, 1, 1)):
        figures, premise = snapshot.for_answer(
            question("why did ETH fall 14%?", assets), [], day, 0
        )
        assert [f.kind for f in figures] == ["quote"] and premise is None


def test_a_news_date_alone_finds_the_move_it_reports(
    snapshot: MarketData, assets: AssetTable
) -> None:
    # An article dated 5 Nov about a fall: the fall of 4 Nov is the move it reports.
    figures, premise = snapshot.for_answer(
        question("why did ETH fall?", assets), [date(2025, 11, 5)], None, 0
    )

    [move] = [f for f in figures if isinstance(f, DayMove)]
    assert move.label == "ETH on 4 Nov 2025"
    assert premise is not None and premise.verdict == "consistent"


# -- a perpetual's metrics -----------------------------------------------------------------


def test_a_perpetuals_funding_and_open_interest_are_shown_with_their_source() -> None:
    metrics = Derivatives("ETH", "ETH/USDT:USDT", "Binance", 0.0001, 8.2e9, READ_AT)
    empty = Derivatives("ETH", "ETH/USDT:USDT", "Bybit", None, None, READ_AT)

    figure = DerivativesFigure(metrics)

    assert figure.label == "ETH perpetual"
    assert figure.text == (
        "funding +0.0100% per interval, open interest $8.20bn "
        "(Binance ETH/USDT:USDT, read 4 Nov 15:30 UTC)"
    )
    data = figure.to_json()
    assert data["text"] == figure.text
    assert (data["funding_rate"], data["open_interest_usd"]) == (0.0001, 8.2e9)
    assert data["source"] == "Binance ETH/USDT:USDT" and data["as_of"] == "2025-11-04T15:30:00Z"
    assert DerivativesFigure(empty).text == "no figures (Bybit ETH/USDT:USDT, read 4 Nov 15:30 UTC)"
    negative = DerivativesFigure(
        Derivatives("SOL", "SOL/USDT:USDT", "OKX", -0.00025, 4.5e8, READ_AT)
    )
    assert negative.text.startswith("funding -0.0250% per interval, open interest $450.0m ")
