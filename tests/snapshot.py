"""The bundled price snapshot's last bar, read from knowledge/prices/ (so a refreshed snapshot
does not turn the price tests into date tests)."""

from __future__ import annotations

import csv
from pathlib import Path

PRICES = Path(__file__).resolve().parent.parent / "knowledge" / "prices"


def last_close(symbol: str) -> tuple[str, float]:
    """(ISO day, close) of the snapshot's newest bar for `symbol`."""
    with (PRICES / f"{symbol}.csv").open() as rows:
        last = list(csv.DictReader(rows))[-1]
    return last["date"], float(last["close"])
