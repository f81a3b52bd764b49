"""Every pattern the loaders run over untrusted text is linear: a long line of its worst
characters is read in well under the time a backtracking pattern takes (46 s for 4,000 spaces
in a heading, minutes or forever for 100 KB). The bound is generous on purpose: it proves
"not catastrophic", it measures nothing."""

from __future__ import annotations

import pytest

from bot.core.sources import load_bytes, load_page
from bot.core.sources._decode import decode
from bot.core.splitter import SentenceSplitter
from tests.core.deadline import finishes_within

BOUND = 5.0  # seconds; a backtracking pattern takes minutes on these inputs
PROSE = b"Bitcoin fell 7% on Tuesday as traders cut risk after the Fed held rates. " * 5


@pytest.mark.parametrize(
    ("data", "name"),
    [
        # the heading pattern: a heading padded with spaces, or made of hashes
        (b"# a" + b" " * 100_000 + b"b\n\n" + PROSE, "note.md"),
        (b"# a" + b" " * 100_000 + b"b\n\n" + PROSE, "note.txt"),  # detection looks too
        (b"###### " + b"#" * 100_000 + b"x\n\n" + PROSE, "note.md"),
        # the link and image patterns: brackets that never close
        (b"# Title\n\n" + b"[" * 100_000, "note.md"),
        (b"# Title\n\n" + b"![" * 50_000, "note.md"),
        (b"# Title\n\n" + b"[a](" * 50_000, "note.md"),
        # list items: a long run of blank lines
        (b"# Title\n\n" + PROSE + b"\n" * 100_000 + b"x", "note.md"),
        # front matter: lines that almost close it
        (b"---\n" + b"\n---x" * 20_000 + b"\n" + PROSE, "note.md"),
        # feed detection: comments before the root element, which is not a feed
        (b"<!---->" * 80 + b"<html><p>x</p></html>", "page.html"),
        (b"<?xml version='1.0'?>" + b"<!-- -->" * 70 + b"<x/>", "page.html"),
        # CSV detection: a first line of 100 KB of cells
        (b"title," * 20_000 + b"\n" + PROSE, "news.csv"),
        # Markdown residue: emphasis that never closes, spaces before a footnote marker,
        # rules and bullets made of a long run of their characters
        (b"# Title\n\n" + b"*a" * 50_000, "note.md"),
        (b"# Title\n\n" + b"_a " * 33_000, "note.md"),
        (b"# Title\n\nx" + b" " * 100_000 + b"[^1", "note.md"),
        (b"# Title\n\n" + b"* " * 50_000 + b"x", "note.md"),
        (b"# Title\n\n" + b"<a" * 50_000, "note.md"),
    ],
    ids=[
        "heading-spaces",
        "heading-spaces-txt",
        "heading-hashes",
        "open-brackets",
        "open-images",
        "open-links",
        "blank-lines",
        "front-matter-near-misses",
        "comments-before-root",
        "xml-comments-before-root",
        "csv-header",
        "open-emphasis",
        "open-underlines",
        "spaces-before-marker",
        "rule-or-bullet",
        "open-tags",
    ],
)
def test_a_file_made_of_a_patterns_worst_characters_is_read_quickly(data: bytes, name: str) -> None:
    with finishes_within(BOUND, f"loading {len(data)} hostile bytes"):
        result = load_bytes(data, name)

    assert all("\n" not in problem for problem in result.problems)  # each one line


def test_a_page_full_of_unclosed_meta_tags_is_read_quickly() -> None:
    """The published-time pattern scans the raw page (its first 200 KB)."""
    page = (
        b"<html><head><title>Bitcoin falls</title></head><body><article><p>"
        + PROSE
        + b"</p></article><!-- "
        + b"<meta name='datePublished'" * 4_000
        + b" --></body></html>"
    )

    with finishes_within(BOUND, "loading a page of unclosed meta tags"):
        result = load_page(page, "https://news.example/a")

    [document] = result.documents
    assert "Bitcoin fell 7%" in document.page_content


def test_a_page_full_of_charset_declarations_is_decoded_quickly() -> None:
    """Not UTF-8, so the document's own declaration is looked for (in its first 4 KB)."""
    data = b"caf\xe9 " + b"<meta charset=" * 7_000 + b"<?xml encoding=" * 7_000

    with finishes_within(BOUND, "decoding 200 KB of charset declarations"):
        text, note = decode(data)

    assert text.startswith("café")
    assert note


@pytest.mark.parametrize(
    "text",
    [
        "Mr. A " * 170_000,  # an abbreviation before every capital: no sentence ever ends
        "e.g. X " * 145_000,
        "x" * 1_000_000,
    ],
    ids=["abbreviations", "e.g.", "one-word"],
)
def test_a_megabyte_long_paragraph_is_split_into_chunks_quickly(text: str) -> None:
    splitter = SentenceSplitter(chunk_size=700, chunk_overlap=120)

    with finishes_within(BOUND, "splitting a 1 MB paragraph"):
        chunks = splitter.split_text(text)

    assert chunks
    assert max(map(len, chunks)) <= 700
    assert "".join(chunks).replace(" ", "").startswith(text[:100].replace(" ", ""))


@pytest.mark.parametrize(
    ("check", "text"),
    [
        # sentence splitting: full stops it must skip (abbreviations, initials), 1 MB of them
        ("sentences", "Mr. A " * 170_000),
        # the guard's clause split: a long run of spaces not followed by a connective
        ("clauses", "BTC fell" + " " * 100_000 + "x [1]"),
        ("clauses", "BTC fell," + " ," * 50_000 + " because [1]"),
        # the injection scan's fake system prompt: a long run of newlines
        ("injection", "\n" * 100_000 + "x"),
        ("injection", "\n \t" * 30_000 + "system"),
    ],
    ids=["abbreviations", "clause-spaces", "clause-commas", "newlines", "blank-lines"],
)
def test_the_core_patterns_over_sources_and_model_output_are_linear(check: str, text: str) -> None:
    from bot.core import guard, injection
    from bot.core.text import sentences

    run = {
        "sentences": lambda: sentences(text),
        "clauses": lambda: guard.CLAUSE.split(text),
        "injection": lambda: injection.scan(text),
    }[check]
    with finishes_within(BOUND, f"{check} over {len(text)} hostile characters"):
        result = run()

    assert result is not None
