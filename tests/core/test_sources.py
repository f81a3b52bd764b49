"""Every input format loads through load_path, with its format detected from the content."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from langchain_core.documents import Document

from bot.core.sources import LoadResult, iter_files, load_bytes, load_path
from bot.core.text import strip_unsafe
from tests.core.deadline import finishes_within
from tests.news_files import BAD, FIXTURES


def published(document: Document) -> datetime | None:
    value = document.metadata["published_at"]
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    assert moment.utcoffset() == timedelta(0), f"{value} is not in UTC"
    return moment


def by_title(result: LoadResult, start: str) -> Document:
    matches = [d for d in result.documents if d.metadata["title"].startswith(start)]
    assert len(matches) == 1, [d.metadata["title"] for d in result.documents]
    return matches[0]


def test_coindesk_export_yields_its_six_items_with_outlet_date_and_link() -> None:
    raw = json.loads((FIXTURES / "coindesk-export.json").read_text(encoding="utf-8"))["Data"]

    result = load_path(FIXTURES / "coindesk-export.json")

    assert result.format == "coindesk-api"
    assert result.problems == []
    assert len(result.documents) == 6
    for row, document in zip(raw, result.documents, strict=True):
        assert document.metadata["title"] == row["title"]
        # The outlet is the display name, not the lower-case slug in "source".
        assert document.metadata["outlet"] == row["source_info"]["name"]
        assert published(document) == datetime.fromtimestamp(row["published_on"], UTC)
        assert document.metadata["url"] == row["url"]
        assert document.page_content.strip()
    coindesk = by_title(result, "Solana Slides 9%")
    assert coindesk.metadata["outlet"] == "CoinDesk"
    assert published(coindesk) == datetime(2025, 10, 4, 16, 5, tzinfo=UTC)
    assert "40 minutes" in coindesk.page_content


def test_jsonl_line_without_description_becomes_an_article_made_of_its_headline() -> None:
    result = load_path(FIXTURES / "generic.jsonl")

    assert result.format == "jsonl"
    assert result.problems == []
    assert len(result.documents) == 3
    headline_only = by_title(result, "Ether ETFs Post $219 Million Outflow")
    assert headline_only.page_content == headline_only.metadata["title"]
    assert headline_only.metadata["outlet"] == "Decrypt"
    assert published(headline_only) == datetime(2025, 11, 5, 8, 0, tzinfo=UTC)
    # The publisher's link, not the news.google.com redirect.
    assert headline_only.metadata["url"].startswith("https://decrypt.co/")
    first = by_title(result, "Bitcoin Slips Below $100,000")
    assert "$578 million" in first.page_content
    assert first.metadata["outlet"] == "CoinDesk"
    assert published(first) == datetime(2025, 11, 4, 14, 30, tzinfo=UTC)


def test_json_list_reads_body_text_or_description_and_either_date_field() -> None:
    result = load_path(FIXTURES / "generic-list.json")

    assert result.format == "json"
    assert result.problems == []
    solana = by_title(result, "Solana DEX Volume")
    cardano = by_title(result, "Cardano Slips 7%")
    chainlink = by_title(result, "Chainlink Rises 5%")
    assert "$5.2 billion" in solana.page_content  # from "body"
    assert "$0.54" in cardano.page_content  # from "text"
    assert "$16.20" in chainlink.page_content  # from "description"
    assert published(solana) == datetime(2025, 11, 6, 9, 15, tzinfo=UTC)
    assert published(cardano) == datetime(2025, 11, 3, tzinfo=UTC)  # from "date"
    assert published(chainlink) == datetime(2025, 11, 7, 13, 5, tzinfo=UTC)
    assert [d.metadata["outlet"] for d in (solana, cardano, chainlink)] == [
        "The Block",
        "Decrypt",
        "CoinDesk",
    ]


def test_cryptopanic_csv_keeps_quoted_titles_whole_and_treats_null_as_missing() -> None:
    result = load_path(FIXTURES / "cryptopanic.csv")

    assert result.format == "csv"
    assert result.problems == []
    assert len(result.documents) == 4
    max_pain = by_title(result, "Analyst:")
    title = 'Analyst: "Max Pain" for Bitcoin Options Sits at $104,000 Ahead of Friday Expiry'
    assert max_pain.metadata["title"] == title
    assert max_pain.page_content == title  # description is NULL: a headline-only article
    assert "NULL" not in max_pain.page_content
    assert published(max_pain) == datetime(2025, 11, 5, 9, 20, tzinfo=UTC)
    reclaim = by_title(result, "Bitcoin Reclaims")
    assert reclaim.metadata["title"] == "Bitcoin Reclaims $103,500 as Short Sellers Cover Positions"
    assert published(reclaim) == datetime(2025, 11, 6, 18, 31, 55, tzinfo=UTC)
    ether = by_title(result, "Ether ETFs Record Fourth")
    assert ether.metadata["assets_hint"] == ["ETH"]
    assert "$637 million" in ether.page_content


@pytest.mark.parametrize(
    ("name", "title", "moment"),
    [
        (
            "Binance_Will_Halt_Deposits_on_the_Example_Network_20251103093000.md",
            "Binance Will Halt Deposits on the Example Network",
            datetime(2025, 11, 3, 9, 30, tzinfo=UTC),
        ),
        (
            "Binance_Will_Delist_FOO_and_BAR_on_2025-11-20_20251106030011.md",
            "Binance Will Delist FOO and BAR on 2025-11-20",
            datetime(2025, 11, 6, 3, 0, 11, tzinfo=UTC),
        ),
    ],
)
def test_binance_announcement_is_dated_by_the_stamp_at_the_end_of_its_file_name(
    name: str, title: str, moment: datetime
) -> None:
    result = load_path(FIXTURES / name)

    assert result.format == "markdown"
    assert result.problems == []
    [document] = result.documents
    assert document.metadata["title"] == title
    assert published(document) == moment
    assert not document.page_content.startswith("#")
    assert "Fellow Binancians" in document.page_content


def test_front_matter_supplies_title_date_link_and_outlet() -> None:
    result = load_path(FIXTURES / "front-matter.md")

    assert result.format == "markdown"
    [document] = result.documents
    assert document.metadata["title"] == (
        "Bitcoin Exchange Reserves Fall to 2.31 Million BTC, Lowest Since 2018"
    )
    assert published(document) == datetime(2025, 11, 4, 12, 0, tzinfo=UTC)
    assert document.metadata["url"] == (
        "https://www.theblock.co/post/377905/bitcoin-exchange-reserves-fall-to-2-31-million-btc"
    )
    assert document.metadata["outlet"] == "The Block"
    assert "38,000 BTC" in document.page_content
    assert "title:" not in document.page_content
    assert "---" not in document.page_content


def test_html_page_yields_the_story_without_cookie_banner_sidebar_or_footer() -> None:
    result = load_path(FIXTURES / "article.html")

    assert result.format == "html"
    assert result.problems == []
    [document] = result.documents
    meta = document.metadata
    assert meta["title"] == (
        "Bitcoin Falls Below $100,000 as ETF Outflows and Liquidations Hit Crypto"
    )
    assert meta["outlet"] == "The Daily Hash"
    assert meta["author"] == "Maya Lindqvist"
    moment = published(document)
    assert moment is not None
    assert moment.date() == date(2025, 11, 4)
    assert meta["url"] == (
        "https://www.thedailyhash.example/markets/2025/11/04/"
        "bitcoin-falls-below-100000-etf-outflows-liquidations"
    )
    text = document.page_content
    for fact in ("$99,010", "$578 million", "$1.36 billion", "62%", "$156.10"):
        assert fact in text
    for boilerplate in (
        "We use cookies",
        "Related stories",
        "All rights reserved",
        "Ether ETF outflows extend to a fourth day",  # a sidebar link
        "Sign up",  # the newsletter form
        "BTC $99,480",  # the price ticker
    ):
        assert boilerplate not in text


def test_plain_text_takes_its_first_line_as_the_title() -> None:
    result = load_path(FIXTURES / "note.txt")

    assert result.format == "text"
    [document] = result.documents
    title = "Ether ETFs Lose $412 Million in Three Days as ETH Slides to $3,300"
    assert document.metadata["title"] == title
    assert not document.page_content.startswith(title)
    assert "$412 million of net outflows" in document.page_content
    assert published(document) is None


@pytest.mark.parametrize(
    ("name", "format_", "reason"),
    [
        ("truncated.json", "json", "not valid JSON"),
        ("binary.txt", "binary", "binary file"),
        ("empty.md", "empty", "empty file"),
        ("unknown.json", "json", "not a news export"),
    ],
)
def test_broken_file_is_reported_with_a_reason_and_yields_nothing(
    name: str, format_: str, reason: str
) -> None:
    result = load_path(BAD / name)

    assert result.documents == []
    assert result.format == format_
    assert len(result.problems) == 1
    assert reason in result.problems[0]


def test_windows_1252_text_is_decoded_with_a_note_and_its_accents_intact() -> None:
    result = load_path(BAD / "latin1.txt")

    [document] = result.documents
    assert any("Windows-1252" in p for p in result.problems)
    assert document.metadata["title"] == "Café chain raises €12 million"
    assert "café" in document.page_content
    assert "€12 million" in document.page_content
    assert "\ufffd" not in document.page_content


def test_missing_file_is_reported_not_raised(tmp_path: Path) -> None:
    result = load_path(tmp_path / "nowhere.json")

    assert result.documents == []
    assert result.problems == ["no such file"]


def test_format_is_detected_from_content_not_from_the_file_name() -> None:
    data = (FIXTURES / "generic-list.json").read_bytes()

    result = load_bytes(data, "export.txt")

    assert result.format == "json"
    assert len(result.documents) == 3


@pytest.mark.parametrize(
    ("content", "why", "problem"),
    [
        (
            json.dumps(
                [
                    {
                        "title": "Far future",
                        "body": "A long enough body of text.",
                        "published_on": 1e300,
                    }
                ]
            ),
            "unrepresentable timestamp",
            None,
        ),
        (
            json.dumps(
                [
                    {
                        "title": "Year one",
                        "body": "A long enough body of text.",
                        "date": "0001-01-01T00:00:00+05:00",
                    }
                ]
            ),
            "date before year 1 in UTC",
            None,
        ),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply", "nested more than 64 levels deep"),
        (
            "---\ntitle: " + "[" * 5_000 + "\n---\nbody",
            "front matter nested too deeply",
            "front matter refused: it is nested more than 10 levels deep",
        ),
    ],
)
def test_odd_files_are_reported_or_read_never_raise(
    content: str, why: str, problem: str | None
) -> None:
    result = load_bytes(content.encode(), "odd.json")

    if problem is None:  # read, without the date nobody can represent
        [document] = result.documents
        assert document.metadata.get("published_at") is None, why
        assert result.problems == [], why
    else:  # refused, saying why
        assert result.documents == [], why
        assert any(problem in p for p in result.problems), (why, result.problems)


def test_a_utf16_file_with_an_odd_byte_count_is_read() -> None:
    data = "\ufeffBitcoin holds $100k\n\nTraders bought the dip.".encode("utf-16-le") + b"\x00"
    result = load_bytes(b"\xff\xfe" + data[2:], "odd.txt")

    [document] = result.documents
    assert document.metadata["title"] == "Bitcoin holds $100k"
    assert document.page_content.startswith("Traders bought the dip.")


def test_csv_headers_are_matched_whatever_their_case() -> None:
    content = "Title,Description,URL,Date\nETH rallies,Ether rose 5% to $4000.,https://x.example/a,2025-11-03\n"

    result = load_bytes(content.encode(), "caps.csv")

    assert [d.metadata["title"] for d in result.documents] == ["ETH rallies"]
    assert result.documents[0].metadata["url"] == "https://x.example/a"


def test_a_text_file_opening_with_a_bracket_is_prose_not_broken_json() -> None:
    content = (
        "[Reuters] Bitcoin fell 5% on Tuesday\n\nBitcoin fell as traders cut risk after the Fed."
    )

    result = load_bytes(content.encode(), "wire.txt")

    assert result.format == "text"
    assert result.documents[0].metadata["title"] == "[Reuters] Bitcoin fell 5% on Tuesday"


def test_declared_charsets_are_honoured_but_valid_utf8_wins() -> None:
    """A server's or a page's charset is used for text that is not UTF-8; UTF-8 text declared
    as ISO-8859-1 (a common server default) stays UTF-8; unknown or non-text codecs are
    ignored."""
    from bot.core.sources._decode import decode

    ru = "Эфир подешевел на 9% за день."
    jp = "ビットコインが7%下落した。"
    xml = f'<?xml version="1.0" encoding="Shift_JIS"?><rss>{jp}</rss>'.encode("shift_jis")
    assert decode(ru.encode("koi8_r"), "KOI8-R")[0] == ru
    assert jp in decode(xml)[0]
    assert decode("Café – “quoted”".encode(), "ISO-8859-1") == ("Café – “quoted”", None)
    for bogus in ("no-such-charset", "base64", "utf-7"):
        text, note = decode("Café".encode("cp1252"), bogus)
        assert (text, note) == ("Café", "not valid UTF-8: decoded as Windows-1252")


def alias_bomb(levels: int, width: int) -> bytes:
    """Front matter whose title is `width ** levels` strings once its aliases are expanded
    (billion laughs: each anchor is a list of `width` aliases of the one before)."""
    names = "abcdefghijklmnopqrstuvwxyz"
    lines = ["---", f"a: &a [{','.join(['lol'] * width)}]"]
    for level in range(1, levels + 1):
        name, before = names[level], names[level - 1]
        lines.append(f"{name}: &{name} [{','.join([f'*{before}'] * width)}]")
    lines += [f"title: *{names[levels]}", "---", "Bitcoin fell 7% on Tuesday as traders cut risk."]
    return "\n".join(lines).encode()


@pytest.mark.parametrize(("levels", "width"), [(9, 9), (6, 8), (3, 3)])
def test_front_matter_with_yaml_aliases_is_refused_in_one_line(levels: int, width: int) -> None:
    bomb = alias_bomb(levels, width)
    assert len(bomb) < 600  # the 557-byte file of the report reached 2.2 GB in 17 s

    with finishes_within(5, f"a {len(bomb)}-byte alias bomb"):
        result = load_bytes(bomb, "bomb.md")

    assert result.documents == []
    [problem] = result.problems
    assert "front matter" in problem and "alias" in problem


def test_front_matter_longer_than_16_kb_is_refused_in_one_line() -> None:
    data = (
        "---\ntitle: Bitcoin\ntags: [" + "btc, " * 4_000 + "eth]\n---\nBitcoin fell 7%."
    ).encode()

    result = load_bytes(data, "long.md")

    assert result.documents == []
    [problem] = result.problems
    assert "front matter" in problem and "16 KB" in problem


def test_front_matter_fields_are_cut_to_their_caps() -> None:
    data = (
        f"---\ntitle: {'Bitcoin falls ' * 700}\nsource: {'The Block ' * 500}\n---\n"
        "Bitcoin fell 7% on Tuesday as traders cut risk after the Fed held rates."
    ).encode()

    [document] = load_bytes(data, "long-title.md").documents

    assert document.metadata["title"].startswith("Bitcoin falls Bitcoin falls")
    assert len(document.metadata["title"]) <= 300
    assert len(document.metadata["outlet"]) <= 80


def test_front_matter_nested_deeper_than_a_news_header_is_refused_in_one_line() -> None:
    data = ("---\ntitle: " + "[" * 5_000 + "x" + "]" * 5_000 + "\n---\nBitcoin fell 7%.").encode()

    result = load_bytes(data, "deep.md")

    assert result.documents == []
    [problem] = result.problems
    assert "front matter" in problem and "nested" in problem


def with_deep_source_info(nesting: str) -> bytes:
    """The CoinDesk fixture with its Solana record's source_info nested 12,000 levels deep:
    as a string holding nested JSON, or as nested JSON itself."""
    raw = json.loads((FIXTURES / "coindesk-export.json").read_text(encoding="utf-8"))
    deep = '{"a":' * 12_000 + "1" + "}" * 12_000  # 72 KB
    if nesting == "string":
        raw["Data"][4]["source_info"] = deep
        return json.dumps(raw).encode()
    raw["Data"][4]["source_info"] = "@DEEP@"
    return json.dumps(raw).replace('"@DEEP@"', deep).encode()


@pytest.mark.parametrize("nesting", ["string", "structure"])
def test_a_deeply_nested_source_info_costs_only_that_field(nesting: str) -> None:
    result = load_bytes(with_deep_source_info(nesting), "export.json")

    assert result.format == "coindesk-api"
    assert len(result.documents) == 6
    solana = by_title(result, "Solana Slides 9%")  # the record keeps its text
    assert "40 minutes" in solana.page_content
    assert solana.metadata["outlet"] is None  # only the outlet is lost
    assert [d.metadata["outlet"] for d in result.documents].count(None) == 1
    assert len(result.problems) <= 1


def test_a_jsonl_line_nested_too_deeply_costs_only_that_line() -> None:
    good = json.dumps({"title": "ETH rallies", "body": "Ether rose 5% to $4,000 on Monday."})
    deep = '{"title": "Deep", "source": ' + '{"a":' * 12_000 + "1" + "}" * 12_000 + "}"

    result = load_bytes(f"{good}\n{deep}\n{good}\n".encode(), "news.jsonl")

    assert result.format == "jsonl"
    assert [d.metadata["title"] for d in result.documents] == ["ETH rallies", "Deep", "ETH rallies"]


@pytest.mark.parametrize("stray", ["null", "[1,2", "42", '"a string"'])
def test_a_jsonl_line_that_is_not_an_object_costs_only_that_line(stray: str) -> None:
    good = [
        json.dumps({"title": f"ETH rallies {n}", "body": f"Ether rose {n}% to $4,000 on Monday."})
        for n in range(1, 4)
    ]

    result = load_bytes("\n".join([good[0], stray, *good[1:]]).encode(), "news.jsonl")

    assert result.format == "jsonl"
    assert [d.metadata["title"] for d in result.documents] == [
        "ETH rallies 1",
        "ETH rallies 2",
        "ETH rallies 3",
    ]
    [problem] = result.problems
    assert problem.startswith("line 2: ")


def test_a_csv_cell_over_the_limit_costs_only_its_row(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.core.sources import records

    monkeypatch.setattr(records, "MAX_FIELD_CHARS", 1_000)
    rows = [
        "title,body",
        "ETH rallies,Ether rose 5% to $4000 on Monday.",
        "Huge," + "x" * 5_000,
        "SOL slides,Solana fell 9% after a validator bug.",
        "XRP climbs,XRP gained 6% as open interest rose.",
    ]

    result = load_bytes("\n".join(rows).encode(), "news.csv")

    assert [d.metadata["title"] for d in result.documents] == [
        "ETH rallies",
        "SOL slides",
        "XRP climbs",
    ]
    assert len(result.problems) == 1 and "broken CSV" in result.problems[0]


def test_an_outlet_written_as_a_python_dict_is_still_read() -> None:
    content = (
        "title,body,source_info\n"
        "ETH rallies,Ether rose 5% to $4000 on Monday.,\"{'name': 'CoinDesk', 'lang': 'EN'}\"\n"
    )

    [document] = load_bytes(content.encode(), "news.csv").documents

    assert document.metadata["outlet"] == "CoinDesk"


@pytest.mark.parametrize("content", ["null", "true", "42", '"x"', " null\n", "-1.5e3"])
@pytest.mark.parametrize("name", ["value.json", "value.txt"])
def test_a_file_holding_only_a_json_value_is_reported_in_one_line(content: str, name: str) -> None:
    result = load_bytes(content.encode(), name)

    assert result.documents == []
    [problem] = result.problems
    assert "JSON value" in problem and content.strip() in problem


def test_a_file_name_that_is_not_utf8_is_read_and_reported_printably(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    odd = os.fsencode(folder) + b"/caf\xff\x1b[2J.md"
    with open(odd, "wb") as file:
        file.write(b"# Bitcoin rallies\n\nBitcoin rose 5% as traders bought the dip again.")
    (folder / "good.txt").write_text("Ether falls\n\nEther fell 4% on Wednesday.")

    results = [load_path(path) for path in iter_files([folder])]

    assert [len(r.documents) for r in results] == [1, 1]
    assert results[0].origin.endswith("caf\\xff\\x1b[2J.md")
    for text in (results[0].origin, results[0].documents[0].metadata["origin"]):
        text.encode("utf-8")  # storable and printable: no lone surrogate, no raw ESC
        assert "\x1b" not in text


HOSTILE_TITLE = "\x1b[2J\x1b[31mBitcoin\x1b[0m \u202eslides\u202c 7%\x07"
HOSTILE_OUTLET = "Coin\x1b]8;;https://evil.example\x07Desk\x9b2J"
HOSTILE_AUTHOR = "Maya\u2066 Lindqvist\x01\x08"
HOSTILE_BODY = "Bitcoin fell 7% on Tuesday\x1b[1A\x1b[2K as traders cut risk.\u202e\x85\x7f"


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (
            json.dumps(
                [
                    {
                        "title": HOSTILE_TITLE,
                        "body": HOSTILE_BODY,
                        "source": HOSTILE_OUTLET,
                        "author": HOSTILE_AUTHOR,
                    }
                ]
            ),
            "news.json",
        ),
        (
            json.dumps(
                {
                    "title": HOSTILE_TITLE,
                    "body": HOSTILE_BODY,
                    "source": HOSTILE_OUTLET,
                    "author": HOSTILE_AUTHOR,
                }
            )
            + "\n"
            + json.dumps({"title": "Second", "body": "Ether rose 2% on Monday."}),
            "news.jsonl",
        ),
        (
            f'title,body,source,author\n"{HOSTILE_TITLE}","{HOSTILE_BODY}",'
            f'"{HOSTILE_OUTLET}","{HOSTILE_AUTHOR}"\n',
            "news.csv",
        ),
        (  # YAML refuses raw controls, but not its own escapes ("\u001b")
            f"---\ntitle: {json.dumps(HOSTILE_TITLE)}\nsource: {json.dumps(HOSTILE_OUTLET)}\n"
            f"author: {json.dumps(HOSTILE_AUTHOR)}\n---\n{HOSTILE_BODY}",
            "note.md",
        ),
        (f"# {HOSTILE_TITLE}\n\n{HOSTILE_BODY}", "announcement.md"),
        (f"{HOSTILE_TITLE}\n\n{HOSTILE_BODY}", "note.txt"),
    ],
    ids=["json", "jsonl", "csv", "front-matter", "heading", "text"],
)
def test_escape_sequences_controls_and_bidi_overrides_are_not_ingested(
    content: str, name: str
) -> None:
    result = load_bytes(content.encode(), name)

    document = result.documents[0]
    meta = document.metadata
    assert meta["title"] == "Bitcoin slides 7%"
    assert document.page_content == "Bitcoin fell 7% on Tuesday as traders cut risk."
    if name not in ("note.txt", "announcement.md"):
        assert meta["outlet"] == "CoinDesk"
        assert meta["author"] == "Maya Lindqvist"
    for value in (meta["title"], meta["outlet"] or "", meta["author"] or "", document.page_content):
        assert strip_unsafe(value) == value


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?>\n<!-- generated by <x> -->\n<RSS version="2.0"><channel/></RSS>',
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>News</title></feed>',
        b"<!-- one --> <!-- two -->\n<rdf:RDF></rdf:RDF>",
    ],
)
def test_a_feed_given_as_a_file_is_pointed_to_feeds_add(data: bytes) -> None:
    result = load_bytes(data, "news.xml")

    assert result.format == "feed"
    assert result.problems == ["this is an RSS/Atom feed: add it as a feed, not as a file"]


@pytest.mark.parametrize(
    "meta",
    [
        '<meta content="2025-11-04T10:30:00-05:00" property="article:published_time">',
        '<meta property="article:published_time" content="2025-11-04T10:30:00-05:00" />',
        '<meta itemprop="datePublished" content="2025-11-04T15:30:00Z">',
        '<meta property="article:published_time" content="2025-11-04T10:30:00.000-05:00">',
        '<script type="application/ld+json">{"@context": "https://schema.org", "@graph": '
        '[{"@type": "NewsArticle", "datePublished": "2025-11-04T15:30:00+00:00"}]}</script>',
    ],
)
def test_a_page_s_publication_time_is_read_in_any_markup_it_comes_in(meta: str) -> None:
    body = " ".join(["Ether fell as leveraged long positions were liquidated."] * 8)
    page = (
        f"<html><head><title>Ether slides</title>{meta}</head>"
        f"<body><article><h1>Ether slides</h1><p>{body}</p><p>{body}</p></article></body></html>"
    )
    [document] = load_bytes(page.encode(), "ether.html").documents
    assert published(document) == datetime(2025, 11, 4, 15, 30, tzinfo=UTC)
