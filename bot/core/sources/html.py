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


# The page's own publication time, from a <meta> tag naming it. Linear on any page: a tag is
# scanned only up to the next "<" or ">" (and at most 2,000 characters), and within it each
# pattern starts at a fixed word and takes a bounded value.
_META_TAG = re.compile(r"<meta\b([^<>]{0,2000})>", re.IGNORECASE)
_NAMES_PUBLISHED = re.compile(
    r"\b(?:property|name|itemprop)\s*=\s*[\"']?"
    r"(?:article:published_time|datePublished|pubdate|publishdate)[\"'\s/]",
    re.IGNORECASE,
)
_CONTENT = re.compile(r"\bcontent\s*=\s*[\"']([^\"'<>]{1,100})[\"']", re.IGNORECASE)
MAX_SCANNED_CHARS = 200_000


def _published_time(content: str) -> str | None:
    for tag in _META_TAG.finditer(content[:MAX_SCANNED_CHARS]):
        attributes = tag.group(1) + " "
        if _NAMES_PUBLISHED.search(attributes):
            value = _CONTENT.search(attributes)
            if value and parse_datetime(value.group(1)):
                return value.group(1)
    return None
