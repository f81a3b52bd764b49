"""Rendering for Discord: what comes from a source is shown as text, and only a validated
http(s) address is ever a link."""

from __future__ import annotations

from datetime import date

import pytest

from bot.core.documents import Answer, Citation
from bot.render import (
    answer_embed,
    escape_markdown,
    freshness,
    quotes_text,
    safe_link,
    shorten,
    source_entry,
)


def citation(**values: object) -> Citation:
    fields: dict[str, object] = {
        "n": 1,
        "title": "Ether falls 14%",
        "outlet": "Example Wire",
        "url": "https://news.example/ether",
        "published_at": "2025-11-04",
        "quote": "Ether fell 14% as longs were liquidated.",
        "article_id": "a1",
        **values,
    }
    return Citation(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example/markets/2025/11/04/ether-falls?id=7&utm=x#top",
        "http://203.0.114.7:8080/a",
        "http://[2001:4860::1]:8080/a",
        "https://news.example/already%20encoded",
    ],
)
def test_an_ordinary_address_is_linked_as_it_is(url: str) -> None:
    assert safe_link(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<script>",
        "ftp://news.example/a",
        "https:///no-host",
        "https://news.example/x)[Verify wallet](https://evil.example/v",  # whitespace
        "https://news.example/\x1b[2Jx",
        "https://news.example/\u202ex",
        "https://www.binance.com@evil.example/",  # the host is evil.example
        "https://news.example:99999/",
        "http://[::1/",
        "https://bad_host.example/",
        "https://news.example/" + "a" * 600,
        "http://192.168.1.1/cgi-bin/reboot",  # the reader's own router
        "http://127.0.0.1:8080/admin",
        "http://[fe80::1]/",
    ],
)
def test_an_address_that_is_not_a_plain_http_link_is_no_link(url: str) -> None:
    assert safe_link(url) is None


def test_characters_that_end_a_markdown_link_are_percent_encoded() -> None:
    link = safe_link("https://en.example.org/wiki/Tulip_mania_(1637)?q='x'")

    assert link == "https://en.example.org/wiki/Tulip_mania_%281637%29?q=%27x%27"


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example/y)[Verify](https://evil.example/v)",  # brackets outside a host
        "https://news.example/x<b>",
        'https://news.example/"x"',
        "https://news.example/a`b|c{d}^e\\f",
    ],
)
def test_an_address_holding_what_no_address_may_hold_unencoded_is_no_link(url: str) -> None:
    assert safe_link(url) is None


def test_a_look_alike_host_is_linked_by_its_ascii_name() -> None:
    assert safe_link("https://bіnance.com/") == "https://xn--bnance-pvf.com/"  # Cyrillic і


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("[Claim](https://evil.example/c)", r"\[Claim\](https\://evil.example/c)"),
        ("**bold** __under__ ~~gone~~ ||spoiler|| `code`", None),
        ("# Heading", r"\# Heading"),
        ("-# small print", r"\-\# small print"),
        ("> quoted", r"\> quoted"),
        ("- listed", r"\- listed"),
        ("1. first", r"1\. first"),
        ("a \\ backslash", r"a \\ backslash"),
        ("visit https://evil.example", r"visit https\://evil.example"),
        ("join discord.gg/airdrop", "join discord\u200b.gg/airdrop"),  # linked without a scheme
    ],
)
def test_markdown_from_a_source_is_escaped(text: str, shown: str | None) -> None:
    escaped = escape_markdown(text)

    if shown is not None:
        assert escaped == shown
    for char in "*_~|`":  # every formatting character is escaped where it stands
        assert escaped.count("\\" + char) == text.count(char)


@pytest.mark.parametrize(
    "mention",
    ["@everyone", "@here", "<@123>", "<@!123>", "<@&123>", "<#123>", "</cmd:123>", "<t:1:R>"],
)
def test_mention_syntax_from_a_source_is_broken_by_a_zero_width_space(mention: str) -> None:
    escaped = escape_markdown(f"hello {mention} there")

    assert mention not in escaped
    assert escaped.replace("\u200b", "").replace("\\", "") == f"hello {mention} there"


def test_an_answer_keeps_its_own_markers_and_listed_causes() -> None:
    text = "Ether fell 14% [1].\n- Macro: the Fed [2]\n- [3](https://evil.example) *x* [4]"

    escaped = escape_markdown(text, markers=True, bullets=True)

    assert escaped == (
        "Ether fell 14% [1].\n- Macro: the Fed [2]\n- \\[3\\](https\\://evil.example) \\*x\\* [4]"
    )
    assert escape_markdown("[1]") == r"\[1\]"  # a title's [1] is not one of our markers


def test_a_source_entry_links_only_the_articles_own_address() -> None:
    entry = source_entry(
        citation(
            title="[Claim your ETH airdrop](https://evil.example/c) @everyone",
            outlet="[Binance Support](https://evil.example/b)",
            url="https://news.example/x)[Verify wallet](https://evil.example/v",
            also_reported_by=("**Wire**",),
        )
    )

    assert entry == (
        "[1] Claim your ETH airdrop(https\\://evil.example/c) @\u200beveryone (no link) - "
        "\\[Binance Support\\](https\\://evil.example/b), 2025-11-04 (also \\*\\*Wire\\*\\*)"
    )


def test_a_quote_is_one_escaped_line_under_its_source() -> None:
    answer = Answer(
        question="q",
        status="answered",
        answer="a [1]",
        citations=(citation(quote="Ether fell.\n# Verify your wallet\n> @here"),),
    )

    [_, quote] = quotes_text(answer).split("\n> ")
    assert quote == "Ether fell. \\# Verify your wallet \\> @\u200bhere"


def test_cutting_escaped_text_keeps_a_bracket_the_source_sent() -> None:
    entry = escape_markdown("Ether [beta falls as the market slides lower and lower")

    cut = shorten(entry, 40)

    # The escaped bracket is text, not a link left open: nothing is dropped for it.
    assert cut == "Ether \\[beta falls as the market …"


def test_cutting_a_link_in_two_drops_the_half_link() -> None:
    entry = source_entry(citation(title="Ether falls as the market slides lower and lower"))

    cut = shorten(entry, 40)

    assert cut == "[1] …"


def test_an_answer_full_of_markdown_is_escaped_within_discord_limits() -> None:
    answer = Answer(question="why?", status="answered", answer="**@everyone** [1] " * 1000)

    embed = answer_embed(answer).to_dict()

    assert len(embed["description"]) <= 4096
    assert (
        "@everyone" not in embed["description"] and "\\*\\*@\u200beveryone" in embed["description"]
    )


def test_a_source_dated_in_the_future_is_not_called_fresh() -> None:
    answer = Answer(
        question="q",
        status="answered",
        answer="a",
        citations=(citation(published_at="2098-11-04"),),
    )

    assert freshness(answer, today=date(2025, 11, 6)) == (
        "Newest cited source: 4 Nov 2098 (a date in the future)"
    )


@pytest.mark.parametrize("worst", ["[", "](", "\\", "<", "\n-", "1.\n", "[1]", " "])
def test_escaping_a_long_line_of_the_worst_characters_does_not_hang(worst: str) -> None:
    from tests.core.deadline import finishes_within

    # A backtracking pattern takes minutes on this; the bound proves only that it does not.
    with finishes_within(5.0, f"escaping 100,000 of {worst!r}"):
        shown = shorten(escape_markdown(worst * (100_000 // len(worst)), markers=True), 4096)

    assert len(shown) <= 4096
