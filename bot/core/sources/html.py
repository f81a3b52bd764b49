"""HTML pages: the main text and metadata extracted with trafilatura."""

from __future__ import annotations

from typing import Any

import trafilatura
from htmldate import find_date
from langchain_core.documents import Document

from bot.core.sources.records import record_to_document
from bot.core.text import parse_datetime

MIN_TEXT_CHARS = 200


def load(content: str, origin: str, url: str | None = None) -> tuple[list[Document], list[str]]:
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


def _published_time(content: str) -> str | None:
    """The page's own publication time, with its time of day and zone when the page's
    markup gives them (trafilatura keeps only the day). htmldate reads the markup's date
    fields (meta tags in any attribute order, JSON-LD, <time>) without guessing from text."""
    try:
        found = find_date(
            content[:MAX_SCANNED_CHARS],
            extensive_search=False,
            original_date=True,
            outputformat="%Y-%m-%dT%H:%M:%S%z",
        )
    except Exception:  # htmldate on broken markup: the day trafilatura found stays
        return None
    return found if found and parse_datetime(found) else None
