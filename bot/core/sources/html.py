"""HTML pages: the main text and metadata extracted with trafilatura."""

from __future__ import annotations

import re
from typing import Any

import trafilatura
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


_PUBLISHED = re.compile(
    r"<meta[^>]+(?:property|name|itemprop)=[\"'](?:article:published_time|datePublished|"
    r"pubdate|publishdate)[\"'][^>]*content=[\"']([^\"']+)[\"']",
    re.IGNORECASE,
)


def _published_time(content: str) -> str | None:
    match = _PUBLISHED.search(content[:200_000])
    return match.group(1) if match and parse_datetime(match.group(1)) else None
