"""Daily price history: the bundled snapshot in knowledge/prices/, plus what admins import.

Each symbol is one CSV (`date,open,high,low,close,volume`, UTC days, oldest first) and
`manifest.json` names where its numbers come from. Imports accept Binance kline CSVs and
Yahoo-style CSVs (newest row first is fine) and are merged into the data dir, never into
knowledge/.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
import threading
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from bot.core.files import exclusive, write_atomic
from bot.errors import InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Bar:
    """One day of trading (UTC for crypto, the exchange's day for equities)."""

    day: date
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True)
class Series:
    symbol: str
    bars: tuple[Bar, ...]
    source: str

    def between(self, first: date, last: date) -> list[Bar]:
        return [b for b in self.bars if first <= b.day <= last]

    def on(self, day: date) -> Bar | None:
        days = [b.day for b in self.bars]
        i = bisect_left(days, day)
        return self.bars[i] if i < len(days) and days[i] == day else None

    def before(self, day: date) -> Bar | None:
        days = [b.day for b in self.bars]
        i = bisect_left(days, day)
        return self.bars[i - 1] if i > 0 else None


class PriceHistory:
    """Every symbol's daily bars: the data dir's imports over the bundled snapshot."""

    def __init__(self, bundled: Path, imported: Path) -> None:
        self.bundled = bundled
        self.imported = imported
        self._lock = threading.Lock()
        self._series: dict[str, Series] = {}
        self.reload()

    def reload(self) -> None:
        series: dict[str, Series] = {}
        for folder in (self.bundled, self.imported):
            manifest = _manifest(folder)
            for symbol, entry in manifest.items():
                path = folder / str(entry.get("file", ""))
                if not path.is_file() or path.parent != folder:
                    continue
                try:
                    bars = {b.day: b for b in _read_bars(path)}
                except (OSError, ValueError, KeyError) as error:  # one bad file, not all
                    log.warning("skipping price file %s: %s", path, error)
                    continue
                if symbol in series:  # imports extend and correct the snapshot
                    bars = {**{b.day: b for b in series[symbol].bars}, **bars}
                    source = f"{entry['source']}; {series[symbol].source}"
                else:
                    source = entry["source"]
                series[symbol] = Series(symbol, tuple(sorted(bars.values(), key=_day)), source)
        with self._lock:
            self._series = series

    def get(self, symbol: str) -> Series | None:
        return self._series.get(symbol.upper())

    def symbols(self) -> list[str]:
        return sorted(self._series)

    def import_csv(self, data: bytes, symbol: str, source: str) -> tuple[int, date, date]:
        """Merge a Binance kline or Yahoo CSV into the data dir; (bars, first day, last day)."""
        symbol = symbol.strip().upper()
        if not re.fullmatch(r"[A-Z0-9.\-]{1,15}", symbol):
            raise InputError(f"{symbol!r} is not a ticker symbol.")
        bars = parse_price_csv(data)
        self.imported.mkdir(parents=True, exist_ok=True)
        path = self.imported / f"{symbol}.csv"
        # One import at a time, across processes: each reads, merges and rewrites.
        with exclusive(self.imported / ".lock"):
            try:
                existing = _read_bars(path) if path.is_file() else []
            except (OSError, ValueError, KeyError):
                existing = []  # a damaged earlier import is replaced by this one
            merged = {b.day: b for b in existing}
            merged.update({b.day: b for b in bars})
            write_atomic(path, _bars_csv(sorted(merged.values(), key=_day)))
            manifest = _manifest(self.imported)
            manifest[symbol] = {"file": path.name, "source": source}
            write_atomic(
                self.imported / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True)
            )
            self.reload()
        return len(bars), bars[0].day, bars[-1].day


def parse_price_csv(data: bytes) -> list[Bar]:
    """Daily bars from a Binance kline CSV (open_time,open,high,low,close,volume,...; with or
    without a header; times as dates or epoch milliseconds) or a Yahoo CSV
    (Date,Open,High,Low,Close,Volume,...). Rows may come in any order."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("That price file is not UTF-8 text.") from None
    rows = [row for row in csv.reader(io.StringIO(text)) if row and any(c.strip() for c in row)]
    if not rows:
        raise InputError("That price file is empty.")
    header = [c.strip().lower() for c in rows[0]]
    if "open" in header and "close" in header:
        missing = [n for n in ("high", "low", "volume") if n not in header]
        if missing:
            raise InputError(f"That price file has no {', '.join(missing)} column.")
        first = header[0]
        columns = [header.index(n) for n in (first, "open", "high", "low", "close", "volume")]
        body = rows[1:]
    else:  # Binance's own downloads have no header
        columns = [0, 1, 2, 3, 4, 5]
        body = rows
    bars: dict[date, Bar] = {}
    problems = 0
    for row in body:
        try:
            day = _day_of(row[columns[0]])
            o, h, low, c, v = (float(row[i]) for i in columns[1:])
        except (ValueError, IndexError):
            problems += 1
            continue
        prices = (o, h, low, c)
        if not all(math.isfinite(x) for x in (*prices, v)) or min(prices) <= 0 or v < 0:
            problems += 1
            continue
        if not low <= min(o, c) <= max(o, c) <= h:
            problems += 1
            continue
        bars[day] = Bar(day, o, h, low, c, v)
    if not bars:
        raise InputError(
            "No daily bars found: expected a Binance kline CSV (open_time,open,high,low,close,"
            "volume) or a Yahoo CSV (Date,Open,High,Low,Close,Volume)."
        )
    if problems > len(bars):
        raise InputError(f"{problems} of {problems + len(bars)} rows could not be read.")
    return sorted(bars.values(), key=_day)


def parse_day(text: str) -> date:
    """A day a user typed as YYYY-MM-DD, or a clear error."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{text.strip()[:20]!r} is not a day: write it as 2025-11-04.") from None


def symbol_from_filename(name: str) -> str:
    """ETHUSDT_1d.csv -> ETH, SOLUSDT-1d-2025-11.csv -> SOL, BTC-USD.csv -> BTC, SPY.csv -> SPY."""
    stem = re.split(r"[-_\s.]", name, maxsplit=1)[0].upper()
    for quote in ("USDT", "USDC", "BUSD", "FDUSD"):
        if stem.endswith(quote) and len(stem) > len(quote):
            return stem[: -len(quote)]
    return stem


def _day_of(value: str) -> date:
    value = value.strip()
    if re.fullmatch(r"\d{12,13}", value):  # epoch milliseconds
        return datetime.fromtimestamp(int(value) / 1000, UTC).date()
    if re.fullmatch(r"\d{15,16}", value):  # epoch microseconds (Binance since 2025)
        return datetime.fromtimestamp(int(value) / 1_000_000, UTC).date()
    return date.fromisoformat(value[:10])


def _day(bar: Bar) -> date:
    return bar.day


def _read_bars(path: Path) -> list[Bar]:
    with path.open(encoding="utf-8") as handle:
        return [
            Bar(
                date.fromisoformat(row["date"]),
                float(row["open"]),
                float(row["high"]),
                float(row["low"]),
                float(row["close"]),
                float(row["volume"] or 0),
            )
            for row in csv.DictReader(handle)
        ]


def _bars_csv(bars: list[Bar]) -> str:
    lines = ["date,open,high,low,close,volume"]
    lines += [f"{b.day},{b.open!r},{b.high!r},{b.low!r},{b.close!r},{b.volume!r}" for b in bars]
    return "\n".join(lines) + "\n"


def _manifest(folder: Path) -> dict[str, dict[str, str]]:
    path = folder / "manifest.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        log.warning("unreadable price manifest %s: %s", path, error)
        return {}
    return {str(k).upper(): v for k, v in data.items() if isinstance(v, dict)}
