"""The premise check on real history: ETH on 4 Nov 2025 from the bundled Binance snapshot
(open 3603.84, low 3057.00, close 3287.05; 3 Nov open 3906.58)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.market.history import Bar, PriceHistory, Series
from bot.market.premise import Premise, check, move_day, sentence
from bot.settings import PROJECT_ROOT

CRASH = date(2025, 11, 4)


@pytest.fixture(scope="module")
def eth(tmp_path_factory: pytest.TempPathFactory) -> Series:
    history = PriceHistory(PROJECT_ROOT / "knowledge" / "prices", tmp_path_factory.mktemp("none"))
    series = history.get("ETH")
    assert series is not None
    return series


def by_label(series: Series, **claim: object) -> dict[str, float]:
    premise = check(series, CRASH, **claim)  # type: ignore[arg-type]
    return {w.label: round(w.pct, 1) for w in premise.windows}


def test_the_windows_are_measured_from_the_real_bars(eth: Series) -> None:
    windows = by_label(eth, direction="down", claimed=14.0)

    assert windows["4 Nov open to close"] == -8.8
    assert windows["4 Nov open to low"] == -15.2
    assert windows["3 Nov open to 4 Nov close"] == -15.9


@pytest.mark.parametrize(
    ("direction", "claimed", "verdict"),
    [
        ("down", 14.0, "consistent"),  # open to low -15.2%, two-day -15.9%
        ("down", 30.0, "overstated"),
        ("up", 14.0, "wrong_direction"),
        ("down", 2.0, "understated"),
        ("down", None, "consistent"),  # "crashed on Nov 4": the direction alone holds
        ("up", None, "wrong_direction"),
        (None, None, "unknown"),  # nothing claimed
    ],
)
def test_claims_about_the_4_november_crash(
    eth: Series, direction: str | None, claimed: float | None, verdict: str
) -> None:
    assert check(eth, CRASH, direction, claimed).verdict == verdict  # type: ignore[arg-type]


def test_a_claim_about_the_week_is_judged_on_the_week(eth: Series) -> None:
    premise = check(eth, CRASH, "down", 17.0, "why is ETH down 17% this week?")

    assert [w.label for w in premise.windows] == ["week to 4 Nov (29 Oct open to close)"]
    assert premise.verdict == "consistent"
    assert check(eth, CRASH, "down", 8.0, "ETH down 8% this week?").verdict == "understated"


def test_a_day_without_history_gives_an_unknown_verdict(eth: Series) -> None:
    premise = check(eth, date(2031, 1, 1), "down", 10.0)

    assert premise.windows == () and premise.verdict == "unknown"
    assert sentence(premise) is None


def test_the_sentence_for_an_overstated_claim_gives_the_real_moves(eth: Series) -> None:
    text = sentence(check(eth, CRASH, "down", 30.0))

    assert text == (
        "Price check: ETH fell 8.8% on 4 Nov 2025, 15.9% from the 3 Nov open, "
        "less than the 30% in the question."
    )


def test_the_sentence_for_the_wrong_direction_says_which_way_it_went(eth: Series) -> None:
    text = sentence(check(eth, CRASH, "up", 14.0))

    assert text is not None and "ETH fell 8.8% on 4 Nov 2025" in text and "did not rise" in text
    assert sentence(check(eth, CRASH, "down", 14.0)) is None  # nothing to correct


def test_news_published_the_morning_after_is_about_the_day_before(eth: Series) -> None:
    # The seed article is dated 5 Nov; the crash it reports happened on 4 Nov.
    assert move_day(eth, date(2025, 11, 5), "down") == CRASH
    # 5 Nov itself rose: asked about a rise, that is the day meant.
    assert move_day(eth, date(2025, 11, 5), "up") == date(2025, 11, 5)


def test_premise_json_has_the_documented_shape(eth: Series) -> None:
    data = check(eth, CRASH, "down", 14.0).to_json()

    assert {"asset", "claimed_pct", "windows", "verdict"} <= set(data)
    assert data["asset"] == "ETH" and data["claimed_pct"] == 14.0
    assert all(set(w) == {"label", "start", "end", "pct", "net"} for w in data["windows"])
    assert Premise.from_json(data).to_json() == data  # read back whole (pct as rounded)
    # An answer logged before windows said "net": the open-to-low/high ones are still known.
    logged = {
        **data,
        "windows": [{k: v for k, v in w.items() if k != "net"} for w in data["windows"]],
    }
    assert Premise.from_json(logged).sentence == Premise.from_json(data).sentence
    assert Premise.from_json(logged).to_json() == data
    assert data["windows"][0] == {
        "label": "4 Nov open to close",
        "start": "2025-11-04",
        "end": "2025-11-04",
        "pct": -8.79,
        "net": True,
    }


def bars(*rows: tuple[str, float, float, float, float]) -> Series:
    return Series(
        "XYZ",
        tuple(Bar(date.fromisoformat(d), o, h, lo, c, 1.0) for d, o, h, lo, c in rows),
        "test bars",
    )


def test_a_flat_day_has_no_direction_to_judge() -> None:
    flat = bars(("2025-11-03", 100, 101, 99, 100), ("2025-11-04", 100, 100.5, 99.5, 100))

    premise = check(flat, date(2025, 11, 4), "up", 5.0)

    assert premise.verdict == "unknown" and sentence(premise) is None


def test_a_claimed_fall_on_a_day_that_closed_up_is_described_by_its_fall() -> None:
    # 4 Nov: down 5.2% intraday, up 2.1% at the close; down 7.2% from the 3 Nov open.
    mixed = bars(("2025-11-03", 110, 111, 99, 100), ("2025-11-04", 100, 103, 94.8, 102.1))

    premise = check(mixed, date(2025, 11, 4), "down", 14.0)
    text = sentence(premise)

    assert premise.verdict == "overstated"
    assert text == (
        "Price check: XYZ fell 7.2% from the 3 Nov open to the 4 Nov 2025 close, "
        "less than the 14% in the question."
    )


def test_a_claimed_fall_on_a_day_that_only_rose_is_the_wrong_direction() -> None:
    up = bars(("2025-11-04", 100, 103, 94.8, 102.1))

    text = sentence(check(up, date(2025, 11, 4), "down", 14.0))

    assert text == (
        "Price check: XYZ rose 2.1% on 4 Nov 2025; it did not fall as the question says."
    )


def test_a_weekend_day_means_the_last_session_before_it() -> None:
    stock = bars(
        ("2025-11-06", 100, 101, 99, 100),
        ("2025-11-07", 100, 100, 90, 91),  # Friday: -9%
        ("2025-11-10", 91, 93, 90, 92),  # Monday
    )

    saturday = check(stock, date(2025, 11, 8), "down", 9.0)

    assert saturday.verdict == "consistent"
    assert saturday.windows[0].end == date(2025, 11, 7)
    # A Monday article about a fall: Friday's session is the move it reports.
    assert move_day(stock, date(2025, 11, 10), "down") == date(2025, 11, 7)


def test_a_claimed_fall_is_looked_for_on_days_that_fell_and_nearest_the_story() -> None:
    series = bars(
        ("2025-11-05", 100, 100, 93, 94),  # -6%, four days before the story
        ("2025-11-06", 94, 95, 93, 94),
        ("2025-11-07", 94, 94, 89, 90),  # -4.3%, two days before
        ("2025-11-08", 90, 93, 90, 92.7),  # rose 3% from its open, its low
        ("2025-11-09", 92.7, 93, 92, 92.5),
    )

    # "fell 20%": the day that rose is no candidate, however its numbers compare.
    assert move_day(series, date(2025, 11, 8), "down", 20.0) == date(2025, 11, 7)
    # "fell 5%": the 4.3% fall two days back, not the 6% one four days back.
    assert move_day(series, date(2025, 11, 9), "down", 5.0) == date(2025, 11, 7)
