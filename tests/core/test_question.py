"""Parsing what a question asks: assets, why or fact, direction, claimed size and dates."""

from __future__ import annotations

import re
from datetime import date

import pytest

from bot.core.assets import AssetTable
from bot.core.question import MonthDay, follow_up, parse, resolve_date, without_dates
from bot.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def assets() -> AssetTable:
    return AssetTable.load(PROJECT_ROOT / "knowledge" / "assets.json")


def test_why_question_with_move_size_and_day_is_fully_understood(assets: AssetTable) -> None:
    question = parse("why did ETH fall 14% on Nov 4?", assets)

    assert question.assets == ("ETH",)
    assert question.kind == "why"
    assert question.direction == "down"
    assert question.claimed_pct == 14
    assert question.dates == (MonthDay(11, 4, None),)


def test_how_much_question_is_a_fact_question_about_a_rise(assets: AssetTable) -> None:
    question = parse("how much did BTC rise", assets)

    assert question.assets == ("BTC",)
    assert question.kind == "fact"
    assert question.direction == "up"
    assert question.claimed_pct is None
    assert question.dates == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("why did SOL drop on 2025-10-04?", MonthDay(10, 4, 2025)),
        ("what happened to bitcoin on 4 November 2025", MonthDay(11, 4, 2025)),
        ("why did XRP jump on Oct. 4th", MonthDay(10, 4, None)),
        ("why did BNB hit a record on the 5th of October", MonthDay(10, 5, None)),
    ],
)
def test_dates_are_read_in_the_usual_spellings(
    assets: AssetTable, text: str, expected: MonthDay
) -> None:
    assert parse(text, assets).dates[0] == expected


@pytest.mark.parametrize(
    ("text", "direction"),
    [
        ("why is DOGE pumping", "up"),
        ("why did SOL tank", "down"),
        ("what caused the ADA sell-off", "down"),
        ("what is the price of LINK", None),
    ],
)
def test_direction_comes_from_the_verb(
    assets: AssetTable, text: str, direction: str | None
) -> None:
    assert parse(text, assets).direction == direction


def test_a_decimal_percentage_with_a_comma_is_read(assets: AssetTable) -> None:
    assert parse("why did ETH drop 8,7 percent", assets).claimed_pct == 8.7


@pytest.mark.parametrize("text", ["", "???", "31 Feb", "🚀🚀🚀", "why " * 200])
def test_odd_input_never_raises(assets: AssetTable, text: str) -> None:
    question = parse(text, assets)

    assert question.text == text


def test_a_day_without_a_year_means_the_year_the_news_clusters_in() -> None:
    corpus_dates = [date(2024, 11, 3), date(2025, 11, 4), date(2025, 11, 5), date(2025, 11, 6)]

    resolved = resolve_date(MonthDay(11, 4, None), corpus_dates, today=date(2026, 1, 10))

    assert resolved == date(2025, 11, 4)


def test_a_day_that_does_not_exist_resolves_to_nothing() -> None:
    assert resolve_date(MonthDay(2, 31, 2025), []) is None


def test_removing_dates_leaves_the_topic_words() -> None:
    text = without_dates("why did APT fall on Sept 3 and on 2025-12-12?")

    assert "Sept" not in text
    assert "2025" not in text
    assert "APT fall" in text


@pytest.mark.parametrize(
    "text", ["why did ETH decline 14%?", "markets 5% lower", "juneteenth 3", "octopus 4"]
)
def test_words_that_start_like_a_month_are_not_dates(text: str, assets: AssetTable) -> None:
    assert parse(text, assets).dates == ()


@pytest.mark.parametrize(
    ("reply", "earlier", "expected"),
    [
        ("and the day after?", "why did ETH fall 14% on 4 Nov?", "and the day after? (ETH, 5 Nov)"),
        ("what about on 3 Nov?", "why did ETH fall 14% on 4 Nov?", "what about on 3 Nov? (ETH)"),
        (
            "and the week after?",
            "why did bitcoin drop on 2025-11-04?",
            "and the week after? (BTC, 11 Nov 2025)",
        ),
    ],
)
def test_a_follow_up_carries_the_assets_and_dates_it_leaves_out(
    assets: AssetTable, reply: str, earlier: str, expected: str
) -> None:
    text = follow_up(reply, earlier, assets, date(2025, 12, 1))

    assert text == expected
    assert parse(text, assets).assets == parse(earlier, assets).assets


@pytest.mark.parametrize(
    ("reply", "earlier", "expected"),
    [
        ("and the week before?", "why did SOL dump on 4 Nov 2025?", "(SOL, 28 Oct 2025)"),
        ("what about the previous day?", "why did SOL dump on 1 Mar 2026?", "(SOL, 28 Feb 2026)"),
        ("and a day later?", "why did BTC crater yesterday?", "(BTC, 30 Nov 2026)"),
        # The earlier question asked about a week: the follow-up asks about the same week.
        ("and SOL?", "why did ETH bleed 20% this week?", "(the week to 30 Nov 2026)"),
        ("and SOL?", "why did ETH bleed 20% last week?", "(the week to 23 Nov 2026)"),
    ],
)
def test_a_follow_up_moves_or_keeps_the_earlier_day_and_window(
    assets: AssetTable, reply: str, earlier: str, expected: str
) -> None:
    text = follow_up(reply, earlier, assets, date(2026, 11, 30))

    assert text == f"{reply} {expected}"
    day = parse(text, assets, date(2026, 11, 30)).dates[0]
    stated = expected.strip("()").split(", ")[-1].removeprefix("the week to ")
    assert f"{day.day} " in stated and str(day.year) in stated


def test_a_follow_up_reads_a_date_without_a_year_in_the_year_of_the_news(
    assets: AssetTable,
) -> None:
    news = [date(2025, 11, 3), date(2025, 11, 5)]

    text = follow_up(
        "and the day after?", "why did ETH fall on 4 Nov?", assets, date(2026, 12, 1), news
    )

    assert text == "and the day after? (ETH, 5 Nov 2025)"


@pytest.mark.parametrize("reply", ["and BTC?", "and what about bitcoin?"])
def test_a_follow_up_naming_its_own_asset_keeps_it_and_drops_the_old_one(
    assets: AssetTable, reply: str
) -> None:
    text = follow_up(reply, "why did ETH fall 14% on 4 Nov?", assets, date(2025, 12, 1))

    assert text == f"{reply} (4 Nov)"
    assert parse(text, assets).assets == ("BTC",)


@pytest.mark.parametrize(
    ("reply", "earlier"),
    [
        ("why did SOL fall on 3 Nov?", "why did ETH fall 14% on 4 Nov?"),  # both its own
        ("what happened next?", "why did crypto crash?"),  # nothing to carry
        ("and what about Ethereum?", "why did ETH fall?"),  # the same asset, by name
    ],
)
def test_a_follow_up_with_nothing_to_carry_is_left_as_written(
    assets: AssetTable, reply: str, earlier: str
) -> None:
    assert follow_up(reply, earlier, assets) == reply


@pytest.mark.parametrize(
    ("text", "claimed"),
    [("why did PEPE rise 1,000%?", 1000.0), ("ETH fell 8,5%", 8.5), ("down 2.5 percent", 2.5)],
)
def test_claimed_percentages_read_thousands_and_decimal_commas(
    assets: AssetTable, text: str, claimed: float
) -> None:
    assert parse(text, assets).claimed_pct == claimed


@pytest.mark.parametrize(
    "text",
    [
        "why did ETH fall 1e308%?",  # an exponent: not a move anyone can have seen
        "why did ETH fall 12345%?",  # more than four digits before the point
        "why did ETH fall 10,000%?",
        "why did ETH fall v2.14%?",  # the tail of another number
    ],
)
def test_a_percentage_that_is_not_a_plain_number_is_no_claim(assets: AssetTable, text: str) -> None:
    assert parse(text, assets).claimed_pct is None


@pytest.mark.parametrize(
    ("text", "claimed"),
    [("why did ETH fall 14.25%?", 14.25), ("why did PEPE rise 9,999%?", 9999.0)],
)
def test_a_plain_percentage_up_to_four_digits_is_read(
    assets: AssetTable, text: str, claimed: float
) -> None:
    assert parse(text, assets).claimed_pct == claimed


@pytest.mark.parametrize(
    "text", ["why did ETH fall on Nov 4 10000?", "why did ETH fall on 4 Nov 20251?"]
)
def test_a_year_is_a_whole_four_digit_number_not_the_start_of_a_longer_one(
    assets: AssetTable, text: str
) -> None:
    [when] = parse(text, assets).dates

    assert when.year is None


@pytest.mark.parametrize(
    "worst",
    ["1", "1,", "1.", "1 ", "nov 1 ", "1 of ", "1%", "1e", "[", " ", "-", "4 nov 2025 "],
)
def test_a_long_question_of_the_worst_characters_does_not_hang(
    assets: AssetTable, worst: str
) -> None:
    from tests.core.deadline import finishes_within

    # 20,000 characters: 40 times what services let through. A run of digits took 27 s here
    # when the percentage pattern tried every start of it against every end.
    text = worst * (20_000 // len(worst))
    with finishes_within(5.0, f"parsing 20,000 of {worst!r}"):
        parsed = parse(text, assets)
        follow_up(text[:500], text[:500], assets)
        without_dates(text)

    assert parsed.claimed_pct is None or parsed.claimed_pct < 10_000


@pytest.mark.parametrize(
    ("text", "direction"),
    [
        ("why did MSTR nuke 12%?", "down"),
        ("why is SOL cratering", "down"),
        ("eth bleeding again, why", "down"),
        ("got rekt on ADA, what happened", "down"),
        ("why did BTC plummet", "down"),
        ("why is DOGE sending", "up"),
        ("why did TON rip 8% today", "up"),
        ("what's behind the XRP short squeeze", "up"),
        ("LINK mooning, why?", "up"),
        ("why did SUI skyrocket", "up"),
        # Words that only look like slang do not set the direction.
        ("What sent ETH down 10%?", "down"),
        ("can you shed light on why BTC jumped?", "up"),
        ("why did the long squeeze dump SOL?", "down"),
    ],
)
def test_traders_slang_is_read_as_a_direction(
    assets: AssetTable, text: str, direction: str
) -> None:
    assert parse(text, assets).direction == direction


TUESDAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("why did bitcoin pump 20% today?", date(2026, 12, 1)),
        ("why did bitcoin pump 20% yesterday?", date(2026, 11, 30)),
        ("why did ETH dump 3 days ago", date(2026, 11, 28)),
        ("why did SOL fall last Friday?", date(2026, 11, 27)),
        ("what happened to XRP on monday", date(2026, 11, 30)),
        ("why did DOGE drop last Tuesday", date(2026, 11, 24)),
        ("why did ADA tank over the weekend", date(2026, 11, 28)),
        ("why is BTC down this week", date(2026, 12, 1)),
        ("why was BTC down last week", date(2026, 11, 24)),
    ],
)
def test_relative_days_are_read_against_the_day_the_question_is_asked(
    assets: AssetTable, text: str, day: date
) -> None:
    question = parse(text, assets, TUESDAY)

    assert question.dates[0] == MonthDay(day.month, day.day, day.year)
    # Not topic words: "yesterday" is not what the news must be about.
    assert not re.search(r"day|ago|week|night", without_dates(text), re.IGNORECASE)


@pytest.mark.parametrize(
    "text",
    [
        "Why is BTC dropping after the Fed's forecast?",
        "What triggered the stop-loss cascade that dumped SOL?",
        "BTC fell after the CPI forecast miss, why?",
        "Explain the ETH dip: was it just take-profit selling?",
        "why did the price target for MSTR get cut?",
    ],
)
def test_asking_why_about_forecasts_or_stops_is_no_request_for_advice(
    assets: AssetTable, text: str
) -> None:
    assert not parse(text, assets).advice


@pytest.mark.parametrize(
    "text", ["should I buy ETH?", "Why did BTC drop? Should I sell?", "entry, TP and SL for ADA?"]
)
def test_asking_what_to_do_is_a_request_for_advice(assets: AssetTable, text: str) -> None:
    assert parse(text, assets).advice


@pytest.mark.parametrize(
    "text",
    ["Why did ALL alts dump today?", "ELI5 why is crypto down?", "GM, why is everything red?"],
)
def test_capital_words_that_are_not_coins_are_not_unknown_assets(
    assets: AssetTable, text: str
) -> None:
    assert parse(text, assets).unknown_asset is None


def test_a_calendar_date_wins_over_a_relative_day(assets: AssetTable) -> None:
    question = parse("did ETH drop more on Nov 4 2025 than yesterday?", assets, TUESDAY)

    assert question.dates[0] == MonthDay(11, 4, 2025)


@pytest.mark.parametrize(
    ("text", "symbol"),
    [
        ("why did link pump on oct 9?", "LINK"),
        ("why is doge dumping", "DOGE"),
        ("and ada?", "ADA"),
        ("what about link? same thing?", "LINK"),
    ],
)
def test_a_coin_named_by_a_common_word_is_read_where_only_the_coin_fits(
    assets: AssetTable, text: str, symbol: str
) -> None:
    assert parse(text, assets).assets == (symbol,)


@pytest.mark.parametrize(
    "text",
    [
        "what is the link between gold and rates?",
        "is it a link?",
        "what about near the top?",
        "why did one exchange halt withdrawals?",
        "Trump tariffs: why did stocks fall?",
        "Gas fees spiked, why?",
    ],
)
def test_a_common_word_stays_a_word(assets: AssetTable, text: str) -> None:
    assert parse(text, assets).assets == ()


def test_whats_up_with_a_coin_claims_no_rise(assets: AssetTable) -> None:
    assert parse("what's up with ETH?", assets).direction is None


def test_a_follow_up_at_the_end_of_the_calendar_does_not_crash(assets: AssetTable) -> None:
    text = follow_up("and the day after?", "why did BTC fall on 9999-12-31?", assets)

    assert text == "and the day after? (BTC, 31 Dec 9999)"
