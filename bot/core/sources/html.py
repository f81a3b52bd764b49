"""HTML pages: the main text and metadata extracted with trafilatura."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.documents import Document
from lxml import etree
from lxml import html as lxml_html

from bot.core.sources.records import record_to_document
from bot.core.text import parse_datetime

MIN_TEXT_CHARS = 200


def load(content: str, origin: str, url: str | None = None) -> tuple[list[Document], list[str]]:
    import trafilatura  # a quarter of a second to import: only where a page is read

    try:
        extracted = trafilatura.bare_extraction(
            content,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
            favor_precision=True,
        )
    except Exception as error:  # trafilatura raises many types on broken markup
        return [], [f"could not parse the page ({type(error).__name__})"]
    if extracted is None:
        return [], ["no article text found on the page"]
    data: dict[str, Any] = extracted if isinstance(extracted, dict) else extracted.as_dict()
    text = data.get("text") or ""
    if len(text) < MIN_TEXT_CHARS:
        return [], [f"not an article: only {len(text)} characters of main text"]
    record = {
        "title": data.get("title"),
        "body": text,
        "url": url or data.get("url"),
        # trafilatura keeps only the day; the page's own timestamp also has the time.
        "published_at": _published_time(content) or data.get("date"),
        "outlet": data.get("sitename") or data.get("hostname"),
        "author": data.get("author"),
    }
    return [record_to_document(record, origin)], []


MAX_SCANNED_CHARS = 200_000  # of the page's markup, for its date: the head and then some
MAX_JSON_LD_CHARS = 100_000
# The tags and JSON-LD field that name a page's publication time, as news sites write them.
_PUBLISHED_META = (
    "//meta[@content and (@property='article:published_time' or @name='article:published_time'"
    " or @itemprop='datePublished' or @name='datePublished' or @name='pubdate'"
    " or @name='publishdate' or @name='date')]/@content"
)
_JSON_LD = "//script[@type='application/ld+json']/text()"


def _published_time(content: str) -> str | None:
    """The page's own publication time, with its time of day and zone (trafilatura keeps only
    the day): the markup's date fields read with lxml (meta tags in any attribute order,
    JSON-LD's datePublished), then htmldate's reading of the markup for other shapes."""
    markup = content[:MAX_SCANNED_CHARS]
    try:
        tree = lxml_html.fromstring(markup)
    except (ValueError, etree.ParserError):  # empty, or not markup at all
        return None
    candidates = [str(v) for v in tree.xpath(_PUBLISHED_META)]
    for script in tree.xpath(_JSON_LD):
        candidates += _json_ld_dates(str(script)[:MAX_JSON_LD_CHARS])
    for value in candidates:
        value = value.strip()[:100]
        if parse_datetime(value):
            return value
    from htmldate import find_date

    try:
        found = find_date(
            markup,
            extensive_search=False,
            original_date=True,
            outputformat="%Y-%m-%dT%H:%M:%S%z",
        )
    except Exception:  # htmldate on broken markup: the day trafilatura found stays
        return None
    return found if found and parse_datetime(found) else None


def _json_ld_dates(text: str) -> list[str]:
    """Every datePublished in a JSON-LD block (an object, a list, or an @graph), at most a few
    levels deep."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested past what the parser takes
        return []
    found: list[str] = []
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack and len(found) < 10:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("datePublished"), str):
                found.append(item["datePublished"])
            if depth < 4:
                stack += [(v, depth + 1) for v in item.values() if isinstance(v, (dict, list))]
        elif isinstance(item, list) and depth < 4:
            stack += [(v, depth + 1) for v in item[:50] if isinstance(v, (dict, list))]
    return found
