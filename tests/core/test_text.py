"""Normalisation, fingerprints, links, sentences and dates: the keys dedupe and citations use."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.text import canonical_url, clean, fingerprint, parse_datetime, sentences
from tests.news_files import FIXTURES


def test_syndicated_copy_in_the_coindesk_export_has_the_same_fingerprint() -> None:
    rows = json.loads((FIXTURES / "coindesk-export.json").read_text(encoding="utf-8"))["Data"]
    bodies = {row["source"]: row["body"] for row in rows}

    assert bodies["coindesk"] != bodies["cryptopolitan"]
    assert fingerprint(bodies["coindesk"]) == fingerprint(bodies["cryptopolitan"])
    assert fingerprint(bodies["coindesk"]) != fingerprint(bodies["cointelegraph"])


WORDS = st.lists(
    st.sampled_from(
        ["ETH", "fell", "14%", "$3,100", "Café", "Straße", "Ethereum", "биткоин", "下跌"]
    ),
    min_size=1,
    max_size=12,
)


@given(WORDS)
def test_fingerprint_ignores_case_and_spacing(words: list[str]) -> None:
    text = " ".join(words)

    assert fingerprint(text) == fingerprint("  " + "\n  ".join(words).upper() + " ")


def test_articles_in_other_scripts_do_not_share_a_fingerprint() -> None:
    first = "Биткоин упал на 7% после заявлений ФРС."
    second = "Эфир вырос на 7% после запуска обновления."

    assert fingerprint(first) != fingerprint(second)
    assert fingerprint("Le café a levé 12 M€") != fingerprint("Le caf a lev 12 M")


def test_a_changed_figure_changes_the_fingerprint() -> None:
    assert fingerprint("ETH fell 14% to $3,100") != fingerprint("ETH fell 15% to $3,100")


def test_clean_collapses_spaces_but_keeps_paragraphs() -> None:
    assert clean("  One\u00a0 two\r\n three.\r\n\r\n\r\nFour  ") == "One two three.\n\nFour"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\x1b[2J\x1b[1;31mRed\x1b[0m alert", "Red alert"),  # CSI: clear screen, colours
        ("Coin\x1b]8;;https://evil.example\x07Desk\x1b]8;;\x1b\\", "CoinDesk"),  # OSC link
        ("Up\x9b2J 7%\x1bc", "Up 7%"),  # 8-bit CSI, a reset
        ("pay \u202egnp.exe\u202c now\u2066\u2069", "pay gnp.exe now"),  # bidi override
        ("bell\x07 null\x00 del\x7f nel\x85end", "bell null del nel end"),
        ("tab\tand\x0bvertical\x0cfeed", "tab and vertical feed"),  # blank space stays a gap
        ("lone \udcff byte", "lone \ufffd byte"),
    ],
)
def test_clean_drops_escape_sequences_controls_and_bidi_overrides(text: str, expected: str) -> None:
    assert clean(text) == expected


@pytest.mark.parametrize(
    "variant",
    [
        "https://cointelegraph.com/news/xrp-climbs?utm_source=rss_feed&utm_medium=rss",
        "https://COINTELEGRAPH.com/news/xrp-climbs/",
        "https://cointelegraph.com/news/xrp-climbs#comments",
    ],
)
def test_tracking_parameters_case_and_trailing_slash_do_not_change_a_link(variant: str) -> None:
    assert canonical_url(variant) == canonical_url("https://cointelegraph.com/news/xrp-climbs")


def test_a_meaningful_query_parameter_is_kept() -> None:
    assert canonical_url("https://x.example/a?id=1") != canonical_url("https://x.example/a?id=2")


def test_sentences_keep_abbreviations_and_prices_whole() -> None:
    text = "The U.S. dollar rose on Nov. 4 as ETH fell to $3.1 thousand. Then BTC slid 2%."

    assert sentences(text) == [
        "The U.S. dollar rose on Nov. 4 as ETH fell to $3.1 thousand.",
        "Then BTC slid 2%.",
    ]


NOV_4 = datetime(2025, 11, 4, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        1762266600,
        1762266600.0,
        "1762266600",
        1762266600000,  # milliseconds
        "2025-11-04T14:30:00Z",
        "2025-11-04T15:30:00+01:00",
        "2025-11-04 14:30:00",  # no zone: UTC
        "Tue, 04 Nov 2025 14:30:00 GMT",
        datetime(2025, 11, 4, 14, 30),
    ],
)
def test_every_date_spelling_becomes_the_same_utc_moment(value: object) -> None:
    assert parse_datetime(value) == NOV_4


@pytest.mark.parametrize("value", [None, "", "NULL", "n/a", "not a date", [2025]])
def test_missing_or_unreadable_dates_are_none(value: object) -> None:
    assert parse_datetime(value) is None


def test_footnote_and_citation_markers_a_source_wrote_are_removed() -> None:
    from bot.core.text import strip_markers

    assert strip_markers("ETH fell 8% [2][^13] on Tuesday [14].") == "ETH fell 8% on Tuesday."
    assert strip_markers("Top 10 of [2025] and [a]") == "Top 10 of [2025] and [a]"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("BTC hit **\\$71.2k** today.[^1][^2]", "BTC hit $71.2k today."),
        ("Ether *slid* while _volumes_ thinned.", "Ether slid while volumes thinned."),
        (
            "5*3 = 15 and snake_case_name stay as written.",
            "5*3 = 15 and snake_case_name stay as written.",
        ),
        ("TL;DR: Bitcoin fell.", "Bitcoin fell."),
        ("Key takeaways -\n- ETF outflows grew.", "ETF outflows grew."),
        ("Summary judgement was issued.", "Summary judgement was issued."),
        ("## Security Incidents\nA bridge lost $5M.", "Security Incidents\n\nA bridge lost $5M."),
        ("Above the rule.\n\n***\n\nBelow it.", "Above the rule.\n\nBelow it."),
        ("Prose.\n\n[^1]: https://example.org/a\n[^2]: https://example.org/b", "Prose."),
        ("Generated by <img src='x.png' style='h'/> a model.", "Generated by a model."),
    ],
)
def test_markdown_residue_is_removed_and_prose_kept(raw: str, shown: str) -> None:
    assert clean(raw) == shown


def test_list_items_become_paragraphs_of_their_own() -> None:
    text = clean("Alts today:\n- SOL fell 3%\n- DOGE fell 6%\n1. AVAX lost 4%\n2) TON rose 9%")

    assert text.split("\n\n") == [
        "Alts today:",
        "SOL fell 3%",
        "DOGE fell 6%",
        "AVAX lost 4%",
        "TON rose 9%",
    ]


def test_hard_wrapped_prose_is_still_one_paragraph() -> None:
    assert clean("Bitcoin fell 4% as\nliquidations hit longs\nacross exchanges.") == (
        "Bitcoin fell 4% as liquidations hit longs across exchanges."
    )


@pytest.mark.parametrize(
    "prose",
    [
        "Summary-judgment motions were filed on Monday.",
        "2**10 is 1024, and snake_case_names stay.",
        "The ETH<BTC ratio > 0.05 held all week.",
    ],
)
def test_prose_that_looks_like_markdown_keeps_its_words(prose: str) -> None:
    assert clean(prose) == prose


def test_an_escaped_asterisk_is_an_asterisk_not_emphasis() -> None:
    assert clean("a \\*literal\\* star") == "a *literal* star"


def test_a_wrapped_line_starting_with_a_number_or_dash_is_not_a_list_item() -> None:
    text = clean("Bitcoin fell sharply on Nov\n7. Markets rallied later as buyers\n- returned.")

    assert text == "Bitcoin fell sharply on Nov 7. Markets rallied later as buyers - returned."
