"""RSS and Atom feeds: the list of feeds polled for news, and one poll of a feed.

The list lives in `data_dir/feeds.json`, rewritten atomically under a file lock
(`data_dir/feeds.lock`), so the bot's poller and a CLI command never lose each other's changes.
A poll is a conditional GET (ETag / Last-Modified) through the SafeFetcher; each item becomes a
Document (its full text when the feed carries it, else the linked article page when allowed,
else the summary) and all items of one poll are ingested as one LoadResult; a poll reads the
newest `MAX_ENTRIES` items by date and says how many older ones it left out. Due feeds are
polled `POLL_WORKERS` at a time, each fetch within its own deadline, so a feed that answers
slowly (or drips its headers) delays only itself. A failing feed keeps its error and backs off
exponentially; it never stops the other feeds.
"""

from __future__ import annotations

import builtins
import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import urljoin, urlsplit, urlunsplit

import feedparser
from langchain_core.documents import Document

from bot.core.files import exclusive, write_atomic
from bot.core.ingest import FileReport, IngestReport, same_title
from bot.core.sources import LoadResult, load_page
from bot.core.sources.records import record_to_document
from bot.core.text import canonical_url, clean, short_hash
from bot.errors import InputError, NotFoundError, UserError
from bot.web.fetch import FEED_TYPES, SafeFetcher, host_problem

if TYPE_CHECKING:
    from bot.core.ingest import Ingestor
    from bot.core.store import ChromaStore
    from bot.settings import Settings

log = logging.getLogger(__name__)

MAX_URL_CHARS = 2000
MAX_ENTRIES = 200  # items read from one poll of one feed: the newest, by date
POLL_WORKERS = 4  # feeds polled at once
# Time one poll of one feed may spend fetching the article pages of summary-only items; after
# it, items keep their summaries, so one slow site cannot hold the poller for long.
ARTICLE_PAGES_SECONDS = 60.0
MAX_BACKOFF = timedelta(hours=24)
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


class FeedError(InputError):
    """A feed that could not be read or is not a feed; the message says why."""


def now_iso(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0).isoformat()


def _parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Feed:
    """A feed being polled and what its last polls did. Times are ISO 8601 strings (UTC)."""

    url: str
    title: str | None = None
    added_by: str = ""
    added_at: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_polled: str | None = None
    last_ok: str | None = None
    last_error: str | None = None
    failures: int = 0
    next_poll: str | None = None
    items_seen: int = 0  # items in the feed the last time it was read
    items_skipped: int = 0  # of those, older ones beyond the MAX_ENTRIES newest: not read

    def due(self, now: datetime | None = None) -> bool:
        """True when the feed should be polled at `now` (never polled, or its time has come)."""
        when = _parse_iso(self.next_poll)
        return when is None or when <= (now or datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Feed:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def normalise_url(url: str) -> str:
    """The feed URL as stored: scheme and host lower-cased, default port and fragment dropped.
    Anything but an absolute http(s) URL is refused with the reason."""
    text = url.strip()
    if not text:
        raise InputError(
            "Give the feed's address, e.g. https://www.coindesk.com/arc/outboundfeeds/rss/"
        )
    if len(text) > MAX_URL_CHARS:
        raise InputError(f"Feed addresses are limited to {MAX_URL_CHARS} characters.")
    if any(ch.isspace() for ch in text):
        raise InputError("A feed address cannot contain spaces.")
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in text):
        raise InputError("A feed address cannot contain control characters.")
    invalid = f"{text[:100]!r} is not a valid feed address."
    try:
        parts = urlsplit(text)
    except ValueError:  # an unclosed [ around an IPv6 address, a host that NFKC changes
        raise InputError(invalid) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        if not scheme or "//" not in text:
            raise InputError(f"{text[:100]!r} is not a feed address: start it with https://.")
        raise InputError(f"Only http and https feeds can be added, not {scheme}: addresses.")
    problem = host_problem(parts)
    if problem == "has no host":
        raise InputError(f"{text[:100]!r} has no host.")
    if problem == "has an invalid port":
        raise InputError(f"{text[:100]!r} has an invalid port.")
    if problem:
        raise InputError(invalid)
    if parts.username or parts.password:
        raise InputError("Feed addresses with a user name or password are not supported.")
    port = parts.port
    host = str(parts.hostname).lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != (443 if scheme == "https" else 80):
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, parts.path or "/", parts.query, ""))


def _key(url: str) -> str:
    """Two addresses of the same feed (case, trailing slash, tracking parameters) share a key."""
    try:
        return canonical_url(url)
    except ValueError:  # a hand-edited feeds.json: the address is its own key
        return url


class FeedStore:
    """The feeds in `path` (data_dir/feeds.json); every change is a locked read-modify-write."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.stem + ".lock")

    @classmethod
    def in_dir(cls, data_dir: Path) -> FeedStore:
        return cls(Path(data_dir) / "feeds.json")

    def list(self) -> list[Feed]:
        """The feeds, in the order they were added."""
        return self._load()

    def get(self, url: str) -> Feed | None:
        key = _key(normalise_url(url))
        return next((f for f in self._load() if _key(f.url) == key), None)

    def add(self, url: str, added_by: str, *, title: str | None = None) -> Feed:
        """Store a new feed (due at once); a second copy of a stored feed is refused."""
        normal = normalise_url(url)
        with self._changing() as feeds:
            if any(_key(f.url) == _key(normal) for f in feeds):
                raise InputError(f"{normal} is already being polled; `feeds list` shows it.")
            feed = Feed(url=normal, title=title, added_by=added_by, added_at=now_iso())
            feeds.append(feed)
        return feed

    def remove(self, url: str) -> Feed:
        """Stop polling a feed; the articles it brought stay stored."""
        key = _key(normalise_url(url))
        with self._changing() as feeds:
            for position, feed in enumerate(feeds):
                if _key(feed.url) == key:
                    del feeds[position]
                    return feed
        raise NotFoundError(
            f"No feed {url.strip()[:200]} is being polled; `feeds list` shows them."
        )

    def update(self, url: str, change: Callable[[Feed], Feed] | None = None, **values: Any) -> Feed:
        """Replace fields of a stored feed (`values`, or `change(feed)` for a change that
        depends on the stored state) and return it; NotFoundError when it was removed."""
        key = _key(normalise_url(url))
        with self._changing() as feeds:
            for position, feed in enumerate(feeds):
                if _key(feed.url) == key:
                    updated = change(feed) if change else feed
                    updated = replace(updated, **values) if values else updated
                    feeds[position] = updated
                    return updated
        raise NotFoundError(f"No feed {url.strip()[:200]} is being polled.")

    @contextmanager
    def _changing(self) -> Iterator[builtins.list[Feed]]:
        """The feeds under the lock; written back (atomically) when the block ends cleanly."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with exclusive(self.lock_path):
            feeds = self._load()
            before = [f.to_json() for f in feeds]
            yield feeds
            if [f.to_json() for f in feeds] != before:
                self._write(feeds)

    def _load(self) -> builtins.list[Feed]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        try:
            data = json.loads(text)
            return [Feed.from_json(row) for row in data["feeds"]]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise InputError(
                f"{self.path} is not a feed list ({type(error).__name__}); fix or remove it."
            ) from None

    def _write(self, feeds: builtins.list[Feed]) -> None:
        payload = json.dumps(
            {"version": 1, "feeds": [f.to_json() for f in feeds]}, indent=2, ensure_ascii=False
        )
        write_atomic(self.path, payload + "\n")


class FeedHost(Protocol):
    """What polling needs from Services: settings, the ingestor, the store and a fetcher."""

    settings: Settings
    ingestor: Ingestor
    store: ChromaStore

    def fetcher(self, allow_private: bool | None = None) -> SafeFetcher: ...


@dataclass
class PollReport:
    """One poll of one feed: read (with the ingestion report), not modified, or not due."""

    feed: Feed  # the feed's state after the poll
    status: Literal["read", "not modified", "not due"]
    ingest: IngestReport = field(default_factory=IngestReport)
    already_stored: int = 0  # summary-only items whose article was stored before
    skipped: int = 0  # older items beyond the MAX_ENTRIES newest, not read

    def _sum(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.ingest.files)

    @property
    def found(self) -> int:
        return self._sum("found") + self.already_stored

    @property
    def new(self) -> int:
        return self._sum("stored")

    @property
    def updated(self) -> int:
        return self._sum("updated")

    @property
    def duplicates(self) -> int:
        return self._sum("duplicates") + self.already_stored

    @property
    def problems(self) -> list[str]:
        return [p for f in self.ingest.files for p in f.problems]

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.feed.url,
            "status": self.status,
            "found": self.found,
            "new": self.new,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "skipped": self.skipped,
            "problems": self.problems,
        }


def poll_feed(
    host: FeedHost,
    feed: Feed,
    *,
    force: bool = False,
    now: datetime | None = None,
    allow_private: bool | None = None,
) -> PollReport:
    """Poll one feed (when due, or always with `force`) and ingest its items.

    Raises FeedError (with the reason) when the feed cannot be read; the failure is recorded
    on the feed (last_error, failures, a backed-off next_poll) first."""
    now = now or datetime.now(UTC)
    if not force and not feed.due(now):
        return PollReport(feed, "not due")
    store = FeedStore.in_dir(host.settings.data_dir)
    interval = timedelta(minutes=host.settings.feed_poll_minutes)
    fetcher = host.fetcher(allow_private)
    try:
        fetched = fetcher.fetch(
            feed.url, accept=FEED_ACCEPT, etag=feed.etag, last_modified=feed.last_modified
        )
        if fetched.not_modified:
            report = PollReport(feed, "not modified")
            etag, modified, seen, skipped, title = (
                fetched.etag or feed.etag,
                fetched.last_modified or feed.last_modified,
                feed.items_seen,
                feed.items_skipped,
                feed.title,
            )
        else:
            parsed = parse_feed(fetched.body, fetched.url, fetched.content_type)
            report = _ingest(host, fetcher, feed, parsed)
            etag, modified = fetched.etag, fetched.last_modified
            seen, skipped = len(parsed.entries), report.skipped
            title = _feed_title(parsed) or feed.title
    except Exception as error:
        message = _message(error, feed.url)
        _record_failure(store, feed, message, now, interval)
        raise FeedError(message) from None
    ok = now_iso(now)
    with suppress(NotFoundError):  # removed while it was being polled: what it brought stays
        report.feed = store.update(
            feed.url,
            title=title,
            etag=etag,
            last_modified=modified,
            last_polled=ok,
            last_ok=ok,
            last_error=None,
            failures=0,
            next_poll=now_iso(now + interval),
            items_seen=seen,
            items_skipped=skipped,
        )
    return report


def poll_due(
    host: FeedHost,
    now: datetime | None = None,
    force: bool = False,
    *,
    allow_private: bool | None = None,
) -> list[tuple[Feed, PollReport | FeedError]]:
    """Poll the feeds whose next poll has come (every feed with `force`), POLL_WORKERS at a
    time, each fetch within its own deadline; results in the list's order. A failing or slow
    feed is reported with its error and never stops or holds up the others."""
    now = now or datetime.now(UTC)
    store = FeedStore.in_dir(host.settings.data_dir)
    due = [feed for feed in store.list() if force or feed.due(now)]
    if not due:
        return []

    def poll(feed: Feed) -> tuple[Feed, PollReport | FeedError]:
        try:
            report = poll_feed(host, feed, force=True, now=now, allow_private=allow_private)
        except FeedError as error:
            return _stored(store, feed), error
        except Exception as error:  # a bug in one feed's poll must never stop the others
            log.exception("polling %s failed", feed.url)
            failed = FeedError(f"{feed.url[:200]} could not be polled ({type(error).__name__}).")
            return _stored(store, feed), failed
        return report.feed, report

    # Ingestion itself is one writer at a time (the ingestor's lock); fetching is what waits.
    with ThreadPoolExecutor(min(POLL_WORKERS, len(due)), thread_name_prefix="feed-poll") as pool:
        return list(pool.map(poll, due))


def _stored(store: FeedStore, feed: Feed) -> Feed:
    """The feed as stored now (with its recorded failure), or as it was."""
    try:
        return store.get(feed.url) or feed
    except UserError:  # the list became unreadable meanwhile
        return feed


def add_feed(
    host: FeedHost, url: str, *, added_by: str, allow_private: bool | None = None
) -> tuple[Feed, PollReport]:
    """Check that `url` may be fetched and is a feed, store it, and ingest its items. Nothing
    is stored when the address is refused or is not a feed."""
    normal = normalise_url(url)
    store = FeedStore.in_dir(host.settings.data_dir)
    if store.get(normal) is not None:
        raise InputError(f"{normal} is already being polled; `feeds list` shows it.")
    fetcher = host.fetcher(allow_private)
    fetched = fetcher.fetch(normal, accept=FEED_ACCEPT)
    parsed = parse_feed(fetched.body, fetched.url, fetched.content_type)
    feed = store.add(normal, added_by, title=_feed_title(parsed))
    now = datetime.now(UTC)
    # Not due while its first ingestion runs: the poller must not read it a second time.
    store.update(
        feed.url, next_poll=now_iso(now + timedelta(minutes=host.settings.feed_poll_minutes))
    )
    report = _ingest(host, fetcher, feed, parsed)
    report.feed = store.update(
        feed.url,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        last_polled=now_iso(now),
        last_ok=now_iso(now),
        next_poll=now_iso(now + timedelta(minutes=host.settings.feed_poll_minutes)),
        items_seen=len(parsed.entries),
        items_skipped=report.skipped,
    )
    return report.feed, report


def parse_feed(body: bytes, url: str, content_type: str = "") -> Any:
    """Parse a feed document; a document that is not RSS or Atom (or so broken that no item
    can be read from it) is refused with the reason."""
    headers = {"content-location": url, "content-type": content_type or "application/xml"}
    # A stream, never bytes: feedparser opens bytes that name a file as that file.
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    usable = [e for e in parsed.entries if any(e.get(k) for k in ENTRY_KEYS)]
    problem = _xml_problem(parsed)
    if not usable and (problem or not parsed.version):
        detail = f" ({problem})" if problem else ""
        raise FeedError(f"{url[:200]} is not an RSS or Atom feed{detail}.")
    return parsed


def _xml_problem(parsed: Any) -> str | None:
    """Why the document is not well-formed, ignoring what feedparser flags but reads fine."""
    error = parsed.get("bozo_exception") if parsed.bozo else None
    if error is None or isinstance(error, BENIGN):
        return None
    return _short(str(error)) or type(error).__name__


def _ingest(host: FeedHost, fetcher: SafeFetcher, feed: Feed, parsed: Any) -> PollReport:
    outlet = _feed_title(parsed) or feed.title or _hostname(feed.url)
    result = LoadResult(feed.url, parsed.version or "feed")
    problem = _xml_problem(parsed)
    if problem:
        result.problems.append(f"the feed is not well-formed ({problem}); its items were read")
    entries, skipped = _newest(list(parsed.entries))
    if skipped:
        result.problems.append(
            f"the feed lists {len(entries) + skipped} items; the newest {len(entries)} were "
            f"read and the {skipped} older ones skipped"
        )
    already = 0
    pages: dict[str, str] = {}  # article pages fetched in this poll: link -> item title
    deadline = time.monotonic() + ARTICLE_PAGES_SECONDS
    for position, entry in entries:
        try:
            document = _entry_document(
                entry, position, feed, outlet, fetcher, host, result.problems, deadline, pages
            )
        except ValueError as error:
            result.problems.append(f"item {position}: {error}")
            continue
        if document is None:
            already += 1
        else:
            result.documents.append(document)
    if result.documents:
        ingest = host.ingestor.ingest_results([result], ingested_by=f"feed:{feed.url}")
    else:
        ingest = IngestReport([FileReport(result.origin, result.format, problems=result.problems)])
    return PollReport(feed, "read", ingest, already_stored=already, skipped=skipped)


def _newest(entries: list[Any]) -> tuple[list[tuple[int, Any]], int]:
    """The MAX_ENTRIES newest entries by date (undated ones after the dated, in the feed's
    order), each with its position in the feed; and how many older ones were left out."""
    numbered = list(enumerate(entries, start=1))
    if len(numbered) <= MAX_ENTRIES:
        return numbered, 0
    oldest = datetime.min.replace(tzinfo=UTC)
    dated = sorted(
        numbered,
        key=lambda item: (_entry_moment(item[1]) or oldest, -item[0]),
        reverse=True,
    )
    return dated[:MAX_ENTRIES], len(numbered) - MAX_ENTRIES


def _entry_moment(entry: Any) -> datetime | None:
    for name in ("published", "updated", "created"):
        parsed = entry.get(f"{name}_parsed")
        if parsed:
            try:
                year, month, day, hour, minute, second = parsed[:6]
                return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            except (TypeError, ValueError):
                pass
    return None


def _hostname(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _entry_document(
    entry: Any,
    position: int,
    feed: Feed,
    outlet: str | None,
    fetcher: SafeFetcher,
    host: FeedHost,
    problems: list[str],
    deadline: float,
    pages: dict[str, str],
) -> Document | None:
    """An item as a Document; None for a summary-only item whose article is already stored
    (fetching its page again, or storing the summary over the article, would be waste).
    Article pages are fetched until `deadline` (time.monotonic()), each link once a poll:
    `pages` maps the links fetched so far to the title of the item that fetched them, and
    another item at the same link keeps its summary (a feed giving every item one link)."""
    link = entry.get("link") or None
    if link:
        link = _item_link(feed.url, str(link))
        if link is None:
            problems.append(f"item {position}: its link is not a web address; stored without it")
    full = _content_text(entry)
    summary = _detail_text(entry.get("summary"), entry.get("summary_detail"))
    text = full or summary
    published = _entry_date(entry)
    author = _plain(entry.get("author") or "") or None
    stored = (
        host.store.article(short_hash(canonical_url(link)))
        if not full and link and host.settings.feed_fetch_full_articles
        else None
    )
    title = _plain(entry.get("title") or "")
    if stored is not None and (same_title(title, stored.title) or not title):
        return None  # the article at its link is stored: this summary would add nothing
    fetched_for = pages.get(link) if link else None
    if fetched_for is not None and (same_title(title, fetched_for) or not title):
        return None  # another item of this poll brought the same story from the same page
    wanted = not full and link and host.settings.feed_fetch_full_articles
    if wanted and stored is None and fetched_for is None and link:
        pages[link] = title
        if time.monotonic() < deadline:
            article, why = _article_text(fetcher, link)
        else:
            article, why = None, "this poll's time for article pages was used up"
        if article is not None and len(article.text) >= len(summary):
            text = article.text
            published = published or article.published_at
            author = author or article.author
        else:
            problems.append(f"item {position} ({link[:120]}): kept the feed's summary ({why})")
    row = {
        "title": title,
        "body": text,
        "url": link,
        "published_at": published,
        "outlet": outlet,
        "author": author,
    }
    return record_to_document(row, f"{feed.url}#{position}")


def _item_link(feed_url: str, link: str) -> str | None:
    """An item's link made absolute, or None when it is not a usable http(s) URL."""
    try:
        absolute = urljoin(feed_url, link.strip())
        parts = urlsplit(absolute)
    except ValueError:  # "http://[::1/x": an unclosed IPv6 bracket
        return None
    if parts.scheme.lower() not in ("http", "https") or host_problem(parts):
        return None
    return absolute


@dataclass(frozen=True)
class _Article:
    text: str
    published_at: str | None
    author: str | None = None


def _article_text(fetcher: SafeFetcher, link: str) -> tuple[_Article | None, str]:
    """The main text of the item's article page, or None and why not."""
    try:
        fetched = fetcher.fetch(link)
    except UserError as error:
        return None, str(error)
    except Exception as error:  # a page must cost its item's full text, never the poll
        log.exception("fetching %s failed", link)
        return None, f"could not fetch the article ({type(error).__name__})"
    loaded = load_page(fetched.body, fetched.url, fetched.charset)
    if not loaded.documents:
        return None, "; ".join(loaded.problems) or "no article on the page"
    document = loaded.documents[0]
    return (
        _Article(
            document.page_content,
            document.metadata.get("published_at"),
            document.metadata.get("author"),
        ),
        "the article page has less text than the summary",
    )


def _content_text(entry: Any) -> str:
    for content in entry.get("content") or []:
        text = _detail_text(content.get("value"), content)
        if text:
            return text
    return ""


def _detail_text(value: Any, detail: Any) -> str:
    if not value:
        return ""
    kind = str((detail or {}).get("type") or "text/html")
    return clean(str(value)) if kind == "text/plain" else html_to_text(str(value))


def _plain(value: str) -> str:
    return html_to_text(value) if "<" in value or "&" in value else clean(value)


def _entry_date(entry: Any) -> str | None:
    moment = _entry_moment(entry)
    if moment is not None:
        return moment.isoformat()
    for name in ("published", "updated", "created"):
        raw = entry.get(name)
        if raw:
            return str(raw)
    return None


def _feed_title(parsed: Any) -> str | None:
    title = _plain(str(parsed.feed.get("title") or ""))
    return title[:200] or None


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 160 else text[:157] + "..."


def _message(error: Exception, url: str) -> str:
    if isinstance(error, UserError):
        return str(error)
    log.exception("polling %s failed", url)
    return f"{url[:200]} could not be polled ({type(error).__name__})."


def _record_failure(
    store: FeedStore, feed: Feed, message: str, now: datetime, interval: timedelta
) -> None:
    def failed(stored: Feed) -> Feed:
        failures = stored.failures + 1
        wait = min(interval * 2 ** min(failures, 16), MAX_BACKOFF)  # 2**failures overflows
        return replace(
            stored,
            last_error=message,
            failures=failures,
            last_polled=now_iso(now),
            next_poll=now_iso(now + wait),
        )

    try:
        store.update(feed.url, failed)
    except NotFoundError:
        pass
    except UserError:
        log.exception("could not record the failure of %s", feed.url)


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
