"""Rendering for Discord: what comes from a source is shown as text, and only a validated
http(s) address is ever a link."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

import discord
import pytest

from bot.core.documents import Answer, Article, Citation
from bot.market.figures import DayMove, DerivativesFigure, Quote
from bot.market.history import Bar
from bot.market.live import Derivatives
from bot.render import (
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    FIELDS_LIMIT,
    FOOTER_LIMIT,
    TITLE_LIMIT,
    answer_embed,
    answer_text,
    escape_markdown,
    freshness,
    price_embed,
    price_text,
    quotes_embed,
    quotes_text,
    safe_link,
    shorten,
    source_entry,
    sources_embed,
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


# -- whole embeds from hostile sources ------------------------------------------------------

MASKED_LINK = re.compile(r"(?<!\\)\[((?:\\.|[^\\\]])*)\]\(([^)\s]*)\)")
RAW_URL = re.compile(r"https?://[^\s<>)]+")
# What Discord reads as a mention, a slash command, a timestamp or a custom emoji.
PING = re.compile(r"@(?:everyone|here)|<(?:@[!&]?\d|#\d|/\w|t:\d|a?:\w+:\d)")
UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
SNOWFLAKE = "123456789012345678"
HOSTILE_TITLE = (
    "[Claim your ETH airdrop](https://evil.example/c) @everyone <@&" + SNOWFLAKE + "> "
    "**URGENT** \u202eslides\u202c \x1b[2J # Verify https://evil.example/v discord.gg/free "
    "\u200b@\u200bhere ||spoiler|| "
)
HOSTILE_OUTLET = f"[Binance Support](https://evil.example/b) @here <#{SNOWFLAKE}> __Wire__ "
READ_AT = datetime(2025, 11, 4, 15, 30, tzinfo=UTC)


def linked_hosts(text: str) -> set[str | None]:
    """The hosts Discord would make a link to: masked links, then bare URLs outside them."""
    hosts = {urlsplit(target).hostname for _, target in MASKED_LINK.findall(text)}
    return hosts | {urlsplit(u).hostname for u in RAW_URL.findall(MASKED_LINK.sub(" ", text))}


def rendered(embed: discord.Embed) -> list[str]:
    """The parts of an embed where Discord renders Markdown, links and mentions (a footer is
    shown as plain text)."""
    parts = [embed.description or ""]
    for field in embed.fields:
        parts += [field.name or "", field.value or ""]
    return parts


def assert_within_limits(embed: discord.Embed) -> None:
    assert len(embed.title or "") <= TITLE_LIMIT
    assert len(embed.description or "") <= DESCRIPTION_LIMIT
    assert len(embed.fields) <= FIELDS_LIMIT
    for field in embed.fields:
        assert 0 < len(field.name or "") <= FIELD_NAME_LIMIT
        assert 0 < len(field.value or "") <= FIELD_VALUE_LIMIT
    assert len(embed.footer.text or "") <= FOOTER_LIMIT
    assert len(embed) <= EMBED_TOTAL_LIMIT  # discord.py counts as Discord does


def assert_harmless(embed: discord.Embed, links: set[str | None]) -> None:
    """No link but to the given hosts, no mention, no control or bidi character."""
    for text in rendered(embed):
        assert linked_hosts(text) <= links, text
        assert not PING.search(text), text
        assert not re.search(r"^\s*#", text, re.MULTILINE), text  # no heading
    for text in [embed.title or "", embed.footer.text or "", *rendered(embed)]:
        assert not UNSAFE.search(text), repr(text)


def hostile_citation(n: int, length: int = 3000) -> Citation:
    good = n % 2 == 1
    return citation(
        n=n,
        title=("# " + HOSTILE_TITLE * 50)[:length],
        outlet=(HOSTILE_OUTLET * 50)[:length],
        url=f"https://news.example/story-{n}"
        if good
        else "https://news.example/x)[V](https://evil.example/v",
        quote=(f"Ether fell [{n}](https://evil.example/q) @everyone. " * 100)[:length],
        article_id=f"a{n}",
        also_reported_by=(HOSTILE_OUTLET * 5, "**Other** @here"),
    )


def test_an_answer_with_many_long_hostile_sources_stays_within_discords_limits() -> None:
    citations = tuple(hostile_citation(n) for n in range(1, 31))
    answer = Answer(
        question="@everyone why did [ETH](https://evil.example/q) fall?" * 20,
        status="answered",
        answer="\n".join(
            f"# Ether fell <@{SNOWFLAKE}> **hard** [{c.n}].\n-# small print\n> quoted"
            for c in citations
        )
        * 5,
        citations=citations,
        lead="ETH fell 8.8% on 4 Nov 2025 # @here.",
    )

    embed = answer_embed(answer, today=date(2025, 11, 6))

    assert_within_limits(embed)
    assert_harmless(embed, {"news.example"})
    assert embed.footer.text == (
        "Newest cited source: 4 Nov 2025 (2 days ago) · Quoted from the sources"
    )
    # The sources shown are whole entries, numbered from [1] without a gap.
    lines = [
        line
        for field in embed.fields
        if "ources" in (field.name or "")
        for line in (field.value or "").split("\n")
    ]
    numbers = []
    for line in lines:
        entry = re.match(r"\[(\d+)\] ", line)
        assert entry is not None, line
        numbers.append(int(entry[1]))
    assert numbers and numbers == list(range(1, len(numbers) + 1))
    assert not any(line.endswith("…") for line in lines)
    # Only the sources' own safe addresses are links, each to its own story.
    linked = [target for line in lines for _, target in MASKED_LINK.findall(line)]
    assert linked == [f"https://news.example/story-{n}" for n in numbers if n % 2 == 1]


def test_an_answers_figures_are_shown_as_text_at_most_five() -> None:
    hostile = "[Binance](https://evil.example/b) @everyone <@" + SNOWFLAKE + ">"
    quote = Quote("ETH", 3287.05, -8.79, hostile, READ_AT, "live")
    move = DayMove("ETH", Bar(date(2025, 11, 4), 3603.84, 3654.54, 3057.0, 3287.05, 1.0), hostile)
    figures = (quote, move, quote, move, quote, move)
    answer = Answer("why did ETH fall?", "answered", "Ether fell [1].", (citation(),), figures)

    embed = answer_embed(answer, today=date(2025, 11, 6))

    assert_within_limits(embed)
    assert_harmless(embed, {"news.example"})
    shown = [f for f in embed.fields if f.name in ("ETH price", "ETH on 4 Nov 2025")]
    assert len(shown) == 5
    assert shown[0].value == escape_markdown(quote.text)
    assert "$3,287.05" in (shown[0].value or "") and "\\[Binance\\]" in (shown[0].value or "")


def test_an_answer_without_sources_says_so_in_its_footer_and_text() -> None:
    answer = Answer("why did FLOOP crash?", "no_sources", "I don't have anything on this.")

    embed = answer_embed(answer)
    text = answer_text(answer)

    assert embed.footer.text == "No dated source"
    assert embed.fields == []
    assert text == "I don't have anything on this."  # no empty Sources list, no footer


def test_answer_text_gives_each_source_its_safe_link_or_none() -> None:
    quote = Quote("ETH", 3287.05, -8.79, "Binance ETH/USDT", READ_AT, "live")
    answer = Answer(
        question="why did ETH fall?",
        status="answered",
        answer="Ether fell [1]. Longs were liquidated [2]. Funds sold [3]. Miners sold [4].",
        citations=(
            citation(n=1, url="https://en.example.org/wiki/Tulip_mania_(1637)"),
            citation(n=2, url="http://192.168.1.1/cgi-bin/reboot", outlet=None),
            citation(n=3, url="https://bіnance.com/", published_at=None),
            citation(n=4, url="https://news.example/x)[Verify](https://evil.example/v"),
        ),
        figures=(quote,),
        lead="ETH fell 8.8% on 4 Nov 2025.",
    )

    text = answer_text(answer, today=date(2025, 11, 6))

    lines = text.split("\n")
    assert lines[0] == "ETH fell 8.8% on 4 Nov 2025."
    assert f"ETH price: {quote.text}" in lines
    sources = lines[lines.index("Sources:") + 1 : lines.index("Sources:") + 5]
    assert sources[0].endswith(") https://en.example.org/wiki/Tulip_mania_%281637%29")
    assert sources[1].endswith("(outlet unknown, 2025-11-04) no link")  # the reader's router
    assert sources[2].endswith("(Example Wire, date unknown) https://xn--bnance-pvf.com/")
    assert sources[3].endswith(" no link")
    assert "evil.example" not in text
    assert lines[-1] == "Newest cited source: 4 Nov 2025 (2 days ago) · Quoted from the sources"


def test_quotes_of_many_long_hostile_sources_fit_one_embed_and_say_what_was_left_out() -> None:
    answer = Answer(
        question="why? " * 100,
        status="answered",
        answer="a",
        citations=tuple(hostile_citation(n) for n in range(1, 21)),
    )

    embed = quotes_embed(answer)

    assert_within_limits(embed)
    assert_harmless(embed, {"news.example"})
    description = embed.description or ""
    left = re.search(r"\((\d+) more not shown\)$", description)
    assert left is not None
    shown = re.findall(r"^\[(\d+)\] ", description, re.MULTILINE)
    assert len(shown) + int(left[1]) == 20


def test_the_price_embed_shows_the_quote_its_metrics_and_where_they_come_from() -> None:
    live = Quote("ETH", 3287.05, -8.79, "Binance ETH/USDT", READ_AT, "live")
    metrics = DerivativesFigure(
        Derivatives("ETH", "ETH/USDT:USDT", "Binance", 0.0001, 8.2e9, READ_AT)
    )
    snapshot = Quote("ETH", 2277.96, 4.58, "Binance spot klines", READ_AT, "snapshot")
    last = Quote("ETH", 3287.05, None, "Kraken ETH/USD", READ_AT, "last_known")

    embed = price_embed(live, [metrics])

    assert embed.title == "ETH price"
    assert embed.description == escape_markdown(live.text)
    assert [(f.name, f.value) for f in embed.fields] == [
        ("ETH perpetual", escape_markdown(metrics.text))
    ]
    assert embed.footer.text == "Source: Binance ETH/USDT (live)"
    assert price_embed(snapshot).footer.text == "Source: Binance spot klines (price history)"
    assert price_embed(last).footer.text == "Source: Kraken ETH/USD (last known reading)"
    assert price_text([live, metrics]) == f"ETH price: {live.text}\nETH perpetual: {metrics.text}"


def test_a_price_source_with_markdown_and_mentions_is_shown_as_text() -> None:
    hostile = f"[Binance](https://evil.example/b) @everyone <@{SNOWFLAKE}> **x** \u202e"
    quote = Quote("ETH", 3287.05, -8.79, hostile, READ_AT, "snapshot")

    embed = price_embed(quote)

    assert_within_limits(embed)
    assert_harmless(embed, set())
    assert "\\[Binance\\]" in (embed.description or "")


def test_a_price_with_a_very_long_source_stays_within_discords_limits() -> None:
    source = "imported from " + "prices " * 800
    quote = Quote("ETH", 3287.05, -8.79, source, READ_AT, "snapshot")

    assert_within_limits(price_embed(quote))


def stored(n: int, **values: object) -> Article:
    fields: dict[str, object] = {
        "id": f"{n:012x}",
        "title": f"Story {n}",
        "body": "",
        "url": f"https://news.example/{n}",
        "outlet": "Example Wire",
        "published_at": datetime(2025, 11, 1 + n % 28, tzinfo=UTC),
        "ingested_at": READ_AT,
        "ingested_by": "cli",
        "assets": ("ETH",),
        "fingerprint": "f",
        **values,
    }
    return Article(**fields)  # type: ignore[arg-type]


def test_sources_are_listed_ten_a_page_with_hostile_titles_as_text() -> None:
    articles = [
        stored(
            n,
            title=HOSTILE_TITLE * 40,
            outlet=HOSTILE_OUTLET * 40,
            url=f"https://news.example/{n}" if n % 3 else "http://127.0.0.1:8080/admin",
        )
        for n in range(25)
    ]

    embed = sources_embed(articles, 2)

    assert_within_limits(embed)
    assert_harmless(embed, {"news.example"})
    assert embed.title == "25 stored articles"
    assert embed.footer.text == "Page 2 of 3"
    description = embed.description or ""
    shown = [a for a in articles if f"`{a.id}`" in description]
    assert shown and shown == articles[10 : 10 + len(shown)]  # the second page's, in order


def test_a_sources_page_past_the_end_shows_the_last_page() -> None:
    articles = [stored(n) for n in range(12)]

    last = sources_embed(articles, 99)
    first = sources_embed(articles, 0)

    assert last.footer.text == "Page 2 of 2"
    assert [a.id for a in articles if f"`{a.id}`" in (last.description or "")] == [
        articles[10].id,
        articles[11].id,
    ]
    assert first.footer.text == "Page 1 of 2"


def test_an_empty_list_of_sources_says_why_it_is_empty() -> None:
    assert sources_embed([], 1).description == "Nothing stored yet."
    matching = sources_embed([], 1, "floop")
    assert matching.description == "No stored article matches."
    assert matching.title == "0 stored articles matching \u201cfloop\u201d"
    assert matching.footer.text == "Page 1 of 1"


def test_a_listed_source_shows_its_date_outlet_and_flags_or_says_they_are_unknown() -> None:
    flagged = stored(1, flags=("addresses a model",), published_at=None, outlet=None, url=None)

    embed = sources_embed([flagged, stored(2)], 1)

    first, second = (embed.description or "").split("\n")
    assert first == (
        f"`{flagged.id}` undated Story 1 (no link) - outlet unknown \u26a0 flagged: "
        "addresses a model"
    )
    assert second == f"`{stored(2).id}` 2025-11-03 [Story 2](https://news.example/2) - Example Wire"


def test_every_stored_article_is_on_some_page_of_sources() -> None:
    url = (
        "https://www.news.example/markets/2025/11/04/bitcoin-slides-below-100000-as-leveraged-"
        "longs-unwind-and-spot-etf-outflows-deepen-for-a-third-straight-session/?utm_source="
        "newsletter&utm_medium=email&utm_campaign=daily-brief&utm_content=top-story&ref=homepage"
        "&outputType=amp"
    )
    title = (
        "Bitcoin slides below $100,000 as leveraged longs unwind and spot ETF outflows deepen "
        "for a third straight session"
    )
    articles = [stored(n, title=f"{title} ({n})", url=f"{url}&n={n}") for n in range(25)]

    listed = {
        a.id
        for page in (1, 2, 3)
        for a in articles
        if f"`{a.id}`" in (sources_embed(articles, page).description or "")
    }

    assert listed == {a.id for a in articles}
