"""Price history: the bundled snapshot, and imports of Binance and Yahoo CSVs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.errors import InputError
from bot.market.history import PriceHistory, parse_price_csv, symbol_from_filename
from bot.settings import PROJECT_ROOT

PRICES = Path(__file__).parent.parent / "fixtures" / "prices"
SNAPSHOT = PROJECT_ROOT / "knowledge" / "prices"


def test_the_snapshot_names_its_source_for_every_symbol(tmp_path: Path) -> None:
    history = PriceHistory(SNAPSHOT, tmp_path)

    assert {"BTC", "ETH", "SOL", "BNB", "XRP", "DOGE", "SPY", "IBIT"} <= set(history.symbols())
    for symbol in history.symbols():
        series = history.get(symbol)
        assert series is not None and series.bars and series.source
    eth = history.get("ETH")
    assert eth is not None and "Binance" in eth.source
    bar = eth.on(date(2025, 11, 4))
    assert bar is not None and (bar.open, bar.low, bar.close) == (3603.84, 3057.0, 3287.05)


@pytest.mark.parametrize(
    "name", ["ETHUSDT_1d.csv", "SOLUSDT-1d-2025-11.csv", "COIN.csv"], ids=["header", "raw", "yahoo"]
)
def test_binance_and_yahoo_csvs_parse_to_ordered_daily_bars(name: str) -> None:
    bars = parse_price_csv((PRICES / name).read_bytes())

    assert len(bars) >= 5
    assert [b.day for b in bars] == sorted({b.day for b in bars})  # oldest first, one a day
    assert all(b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high for b in bars)


def test_yahoo_rows_newest_first_keep_their_own_dates() -> None:
    bars = parse_price_csv((PRICES / "COIN.csv").read_bytes())

    assert bars[0].day == date(2025, 11, 3) and bars[-1].day == date(2025, 11, 7)
    assert bars[-1].close == 309.14


def test_an_import_extends_the_snapshot_without_touching_it(tmp_path: Path) -> None:
    history = PriceHistory(SNAPSHOT, tmp_path / "prices")
    before = (SNAPSHOT / "SOL.csv").read_bytes()

    count, first, last = history.import_csv(
        (PRICES / "SOLUSDT-1d-2025-11.csv").read_bytes(), "SOL", "Binance SOL/USDT download"
    )

    assert (count, first, last) == (9, date(2025, 11, 1), date(2025, 11, 9))
    assert (SNAPSHOT / "SOL.csv").read_bytes() == before
    sol = history.get("SOL")
    assert sol is not None and "Binance SOL/USDT download" in sol.source
    # A fresh process sees the import too.
    assert PriceHistory(SNAPSHOT, tmp_path / "prices").get("SOL") == sol


def test_an_asset_missing_from_the_snapshot_can_be_imported(tmp_path: Path) -> None:
    history = PriceHistory(SNAPSHOT, tmp_path)
    assert history.get("COIN") is not None  # in the snapshot
    assert history.get("AAPL") is None

    history.import_csv((PRICES / "COIN.csv").read_bytes(), "aapl", "test")

    aapl = history.get("AAPL")
    assert aapl is not None and len(aapl.bars) == 5


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\xff\xfe\x00garbage", "UTF-8"),
        (b"title,body\nhello,world\n", "No daily bars"),
        (b"Date,Open,High,Low,Close,Volume\n2025-11-04,10,5,20,12,1\n", "No daily bars"),
    ],
    ids=["empty", "binary", "news-csv", "low-above-high"],
)
def test_a_file_that_is_not_price_history_is_refused_and_changes_nothing(
    tmp_path: Path, data: bytes, message: str
) -> None:
    history = PriceHistory(SNAPSHOT, tmp_path / "prices")

    with pytest.raises(InputError, match=message):
        history.import_csv(data, "ETH", "bad")

    assert not (tmp_path / "prices" / "ETH.csv").exists()
    eth = history.get("ETH")
    assert eth is not None and "bad" not in eth.source


def test_a_symbol_that_is_not_a_ticker_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="ticker"):
        PriceHistory(SNAPSHOT, tmp_path).import_csv(
            (PRICES / "COIN.csv").read_bytes(), "../../etc/passwd", "x"
        )


@pytest.mark.parametrize(
    ("name", "symbol"),
    [
        ("ETHUSDT_1d.csv", "ETH"),
        ("SOLUSDT-1d-2025-11.csv", "SOL"),
        ("SPY.csv", "SPY"),
        ("BTC-USD.csv", "BTC"),
    ],
)
def test_the_symbol_is_read_from_the_file_name(name: str, symbol: str) -> None:
    assert symbol_from_filename(name) == symbol


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"date,open,close\n2025-11-04,10,12\n", "no high, low, volume column"),
        (b"Date,Open,High,Low,Close,Volume\n2025-11-04,0,0,0,0,0\n", "No daily bars"),
    ],
    ids=["missing-columns", "zero-prices"],
)
def test_incomplete_or_zero_price_rows_are_refused_clearly(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_price_csv(data)


def test_a_damaged_import_never_stops_the_snapshot_from_loading(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")

    history = PriceHistory(SNAPSHOT, tmp_path)

    assert history.get("ETH") is not None
    (tmp_path / "manifest.json").write_text('{"ETH": {"file": "ETH.csv", "source": "x"}}')
    (tmp_path / "ETH.csv").write_text("date,open\n2025-11-04,oops\n", encoding="utf-8")
    assert PriceHistory(SNAPSHOT, tmp_path).get("ETH") == history.get("ETH")
