"""Charts are real PNG images of the size asked for."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.market.chart import Mark, render_chart
from bot.market.history import PriceHistory, Series
from bot.settings import PROJECT_ROOT


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, after checking the signature and its CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    body = data[16:29]
    (crc,) = struct.unpack(">I", data[29:33])
    assert zlib.crc32(kind + body) == crc
    width, height = struct.unpack(">II", body[:8])
    assert data.rstrip(b"\x00").endswith(b"IEND\xaeB`\x82")
    return width, height


@pytest.fixture(scope="module")
def eth(tmp_path_factory: pytest.TempPathFactory) -> Series:
    history = PriceHistory(PROJECT_ROOT / "knowledge" / "prices", tmp_path_factory.mktemp("x"))
    series = history.get("ETH")
    assert series is not None
    return Series("ETH", series.bars[55:75], series.source)


@pytest.mark.parametrize(("width", "height"), [(1000, 500), (640, 360)])
def test_a_chart_is_a_png_of_the_requested_size(eth: Series, width: int, height: int) -> None:
    mark = Mark(datetime(2025, 11, 5, 8, 0, tzinfo=UTC), "A day of terror")

    data = render_chart(eth, [mark], width=width, height=height)

    assert png_size(data) == (width, height)
    assert len(data) > 10_000  # a drawn chart, not an empty canvas


def test_a_mark_is_drawn_at_its_day_and_changes_nothing_else(eth: Series) -> None:
    import io

    import numpy as np
    from matplotlib.image import imread

    def pixels(data: bytes) -> np.ndarray:
        return np.asarray(imread(io.BytesIO(data), format="png"))

    first, last = eth.bars[0].day, eth.bars[-1].day
    day = eth.bars[len(eth.bars) // 2].day
    plain = pixels(render_chart(eth))
    marked = pixels(
        render_chart(eth, [Mark(datetime(day.year, day.month, day.day, tzinfo=UTC), "news")])
    )

    changed = np.flatnonzero(np.abs(marked - plain).sum(axis=(0, 2)) > 0)  # columns
    assert changed.size  # something was drawn
    # Within the plot, the change is a narrow band (the line and its label) where the day
    # falls between the first and last bars: not a redrawn chart.
    plot = changed[(changed > plain.shape[1] * 0.08) & (changed < plain.shape[1] * 0.97)]
    assert plot.size and plot.max() - plot.min() < plain.shape[1] * 0.2
    share = (day - first).days / (last - first).days
    middle = (plot.min() + plot.max()) / 2 / plain.shape[1]
    assert abs(middle - share) < 0.2, (middle, share)


def test_an_empty_series_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no bars"):
        render_chart(Series("ETH", (), "nowhere"))
