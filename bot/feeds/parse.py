"""Reading a feed document: RSS or Atom to entries, an entry's text, link and date."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from bot.core.text import clean
from bot.feeds.model import FeedError
from bot.web.fetch import FEED_TYPES, host_problem

MAX_ENTRIES = 200  # items read from one poll of one feed: the newest, by date
ENTRY_KEYS = ("title", "link", "summary", "content")
# What feedparser flags on documents it reads in full (a missing or non-XML content type).
BENIGN = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
_SKIPPED_TAGS = {"script", "style", "noscript", "template", "iframe", "object", "svg"}
_BLOCK_TAGS = {
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "table",
    "tr",
    "section",
    "article",
    "header",
    "footer",
    "figure",
    "figcaption",
    "hr",
}

# Feeds are often served as text/html or text/plain: accept them and let the parser decide.
FEED_ACCEPT = (*FEED_TYPES, "text/html", "text/plain")


def parse_feed(body: bytes, url: str, content_type: str = "") -> Any:
    """Parse a feed document; a document that is not RSS or Atom (or so broken that no item
    can be read from it) is refused with the reason."""
    headers = {"content-location": url, "content-type": content_type or "application/xml"}
    # A stream, never bytes: feedparser opens bytes that name a file as that file.
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    usable = [e for e in parsed.entries if any(e.get(k) for k in ENTRY_KEYS)]
    problem = xml_problem(parsed)
    if not usable and (problem or not parsed.version):
        detail = f" ({problem})" if problem else ""
        raise FeedError(f"{url[:200]} is not an RSS or Atom feed{detail}.")
    return parsed


def xml_problem(parsed: Any) -> str | None:
    """Why the document is not well-formed, ignoring what feedparser flags but reads fine."""
    error = parsed.get("bozo_exception") if parsed.bozo else None
    if error is None or isinstance(error, BENIGN):
        return None
    return short(str(error)) or type(error).__name__


def newest(entries: list[Any]) -> tuple[list[tuple[int, Any]], int]:
    """The MAX_ENTRIES newest entries by date (undated ones after the dated, in the feed's
    order), each with its position in the feed; and how many older ones were left out."""
    numbered = list(enumerate(entries, start=1))
    if len(numbered) <= MAX_ENTRIES:
        return numbered, 0
    oldest = datetime.min.replace(tzinfo=UTC)
    dated = sorted(
        numbered,
        key=lambda item: (entry_moment(item[1]) or oldest, -item[0]),
        reverse=True,
    )
    return dated[:MAX_ENTRIES], len(numbered) - MAX_ENTRIES


def entry_moment(entry: Any) -> datetime | None:
    for name in ("published", "updated", "created"):
        parsed = entry.get(f"{name}_parsed")
        if parsed:
            try:
                year, month, day, hour, minute, second = parsed[:6]
                return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            except (TypeError, ValueError):
                pass
    return None


def hostname(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def item_link(feed_url: str, link: str) -> str | None:
    """An item's link made absolute, or None when it is not a usable http(s) URL."""
    try:
        absolute = urljoin(feed_url, link.strip())
        parts = urlsplit(absolute)
    except ValueError:  # "http://[::1/x": an unclosed IPv6 bracket
        return None
    if parts.scheme.lower() not in ("http", "https") or host_problem(parts):
        return None
    return absolute


def content_text(entry: Any) -> str:
    for content in entry.get("content") or []:
        text = detail_text(content.get("value"), content)
        if text:
            return text
    return ""


def detail_text(value: Any, detail: Any) -> str:
    if not value:
        return ""
    kind = str((detail or {}).get("type") or "text/html")
    return clean(str(value)) if kind == "text/plain" else html_to_text(str(value))


def plain(value: str) -> str:
    return html_to_text(value) if "<" in value or "&" in value else clean(value)


def entry_date(entry: Any) -> str | None:
    moment = entry_moment(entry)
    if moment is not None:
        return moment.isoformat()
    for name in ("published", "updated", "created"):
        raw = entry.get(name)
        if raw:
            return str(raw)
    return None


def feed_title(parsed: Any) -> str | None:
    title = plain(str(parsed.feed.get("title") or ""))
    return title[:200] or None


def short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 160 else text[:157] + "..."


class _Text(HTMLParser):
    """HTML to text: paragraphs kept as blank-line breaks, scripts and styles dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping = max(self.skipping - 1, 0)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _Text()
    parser.feed(markup)
    parser.close()
    return clean("".join(parser.parts))
