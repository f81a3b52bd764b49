"""Polling: one conditional GET of a feed, its items ingested as one batch, failures backed
off; the due feeds a few at a time, each under a lease so one host polls it per interval."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from langchain_core.documents import Document

from bot.core.ingest import FileReport, IngestReport, same_title
from bot.core.sources import LoadResult, load_page
from bot.core.sources.records import record_to_document
from bot.errors import InputError, NotFoundError, UserError
from bot.feeds.model import Feed, FeedError, feed_key, normalise_url, now_iso
from bot.feeds.parse import (
    FEED_ACCEPT,
    content_text,
    detail_text,
    entry_date,
    feed_title,
    hostname,
    item_link,
    newest,
    parse_feed,
    plain,
    xml_problem,
)
from bot.feeds.store import FeedStore
from bot.web.fetch import SafeFetcher

if TYPE_CHECKING:
    from bot.core.ingest import Ingestor
    from bot.core.store import ChromaStore
    from bot.settings import Settings
    from bot.state import State

log = logging.getLogger(__name__)

POLL_WORKERS = 4  # feeds polled at once
# Time one poll of one feed may spend fetching the article pages of summary-only items; after
# it, items keep their summaries, so one slow site cannot hold the poller for long.
ARTICLE_PAGES_SECONDS = 60.0
MAX_BACKOFF = timedelta(hours=24)


class FeedHost(Protocol):
    """What polling needs from Services: settings, the ingestor, the store, the shared state
    (the feed list and leases) and a fetcher."""

    settings: Settings
    ingestor: Ingestor
    store: ChromaStore
    state: State

    def fetcher(self, allow_private: bool | None = None) -> SafeFetcher: ...


@dataclass
class PollReport:
    """One poll of one feed: read (with the ingestion report), not modified, not due, or left
    to the process that holds its lease."""

    feed: Feed  # the feed's state after the poll
    status: Literal["read", "not modified", "not due", "polled elsewhere"]
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
    store = FeedStore(host.state)
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
            title = feed_title(parsed) or feed.title
    except Exception as error:
        message = _message(error, feed.url)
        _record_failure(store, feed, message, _finished(now), interval)
        raise FeedError(message) from None
    # The interval runs from the end of this poll: one that waited (behind other feeds, or for
    # another host's writer) must not come out already due again.
    done = _finished(now)
    ok = now_iso(done)
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
            next_poll=now_iso(done + interval),
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
    feed is reported with its error and never stops or holds up the others.

    Each feed is polled under a lease in the shared state: a feed that another process (or
    host) is polling now is left to it ("polled elsewhere"), and one it has just polled is no
    longer due, so each feed is read once per interval however many bots share the state. A
    host that dies mid-poll stops renewing its lease, and the feed is polled by another once
    the lease has expired (MARKETBOT_LEASE_SECONDS)."""
    now = now or datetime.now(UTC)
    store = FeedStore(host.state)
    due = [feed for feed in store.list() if force or feed.due(now)]
    if not due:
        return []

    def poll(feed: Feed) -> tuple[Feed, PollReport | FeedError]:
        try:
            with host.state.lease(
                f"feed {feed_key(feed.url)}", host.settings.lease_seconds
            ) as held:
                if not held:
                    return feed, PollReport(feed, "polled elsewhere")
                current = store.get(feed.url)  # as another host may have left it a moment ago
                if current is None:
                    return feed, PollReport(feed, "not due")
                report = poll_feed(host, current, force=force, now=now, allow_private=allow_private)
        except FeedError as error:
            return _stored(store, feed), error
        except Exception as error:  # a bug in one feed's poll must never stop the others
            log.exception("polling %s failed", feed.url)
            failed = FeedError(f"{feed.url[:200]} could not be polled ({type(error).__name__}).")
            return _stored(store, feed), failed
        return report.feed, report

    # Ingestion itself is one writer at a time (the writer lock); fetching is what waits.
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
    store = FeedStore(host.state)
    if store.get(normal) is not None:
        raise InputError(f"{normal} is already being polled; `feeds list` shows it.")
    fetcher = host.fetcher(allow_private)
    fetched = fetcher.fetch(normal, accept=FEED_ACCEPT)
    parsed = parse_feed(fetched.body, fetched.url, fetched.content_type)
    interval = timedelta(minutes=host.settings.feed_poll_minutes)
    # Stored not due, in the same statement: no poller (on any host) reads it a second time
    # while its first ingestion runs.
    now = datetime.now(UTC)
    feed = store.add(
        normal, added_by, title=feed_title(parsed), next_poll=now_iso(now + interval)
    )
    report = _ingest(host, fetcher, feed, parsed)
    done = _finished(now)
    report.feed = store.update(
        feed.url,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        last_polled=now_iso(now),
        last_ok=now_iso(now),
        next_poll=now_iso(done + interval),
        items_seen=len(parsed.entries),
        items_skipped=report.skipped,
    )
    return report.feed, report


def _ingest(host: FeedHost, fetcher: SafeFetcher, feed: Feed, parsed: Any) -> PollReport:
    outlet = feed_title(parsed) or feed.title or hostname(feed.url)
    result = LoadResult(feed.url, parsed.version or "feed")
    problem = xml_problem(parsed)
    if problem:
        result.problems.append(f"the feed is not well-formed ({problem}); its items were read")
    entries, skipped = newest(list(parsed.entries))
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
        link = item_link(feed.url, str(link))
        if link is None:
            problems.append(f"item {position}: its link is not a web address; stored without it")
    full = content_text(entry)
    summary = detail_text(entry.get("summary"), entry.get("summary_detail"))
    text = full or summary
    published = entry_date(entry)
    author = plain(entry.get("author") or "") or None
    at_link = (
        host.store.articles_at(link)
        if not full and link and host.settings.feed_fetch_full_articles
        else []
    )
    title = plain(entry.get("title") or "")
    if at_link and (not title or any(same_title(title, a.title) for a in at_link)):
        return None  # the article at its link is stored: this summary would add nothing
    fetched_for = pages.get(link) if link else None
    if fetched_for is not None and (same_title(title, fetched_for) or not title):
        return None  # another item of this poll brought the same story from the same page
    wanted = not full and link and host.settings.feed_fetch_full_articles
    if wanted and not at_link and fetched_for is None and link:
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


def _finished(started: datetime) -> datetime:
    """When a poll that started at `started` ended: now, or `started` when that is later (a
    poll run at a given moment, as the tests and the bench do)."""
    return max(started, datetime.now(UTC))


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
